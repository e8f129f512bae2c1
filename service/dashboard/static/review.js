/* Review queue: accept or reject suggestions through the JSON API with the reader's token. */
(function () {
  "use strict";

  // The token is kept for this tab (sessionStorage) unless the reader ticks "Remember"
  // (localStorage): a review token left in a shared browser outlives the reader's visit.
  var TOKEN_KEY = "forecasts.reviewToken";
  var tokenInput = document.getElementById("review-token");
  var tokenState = document.getElementById("token-state");
  var remember = document.getElementById("token-remember");

  function storage(name) {
    try {
      return window[name];
    } catch (e) {
      return null;  // storage can be switched off; the token then lives in the page only
    }
  }

  function read(name) {
    var store = storage(name);
    try {
      return store ? store.getItem(TOKEN_KEY) || "" : "";
    } catch (e) {
      return "";
    }
  }

  function write(name, value) {
    var store = storage(name);
    if (!store) {
      return false;
    }
    try {
      if (value) {
        store.setItem(TOKEN_KEY, value);
      } else {
        store.removeItem(TOKEN_KEY);
      }
      return true;
    } catch (e) {
      return false;
    }
  }

  function storeToken(value) {
    var kept = remember.checked ? "localStorage" : "sessionStorage";
    var other = remember.checked ? "sessionStorage" : "localStorage";
    write(other, "");
    if (!write(kept, value) && value) {
      tokenState.textContent = "This browser does not keep the token; it is used for this page only.";
      return;
    }
    tokenState.textContent = !value ? "No token saved."
      : remember.checked ? "Saved in this browser." : "Kept for this tab only.";
  }

  var remembered = read("localStorage");
  remember.checked = remembered !== "";
  tokenInput.value = read("sessionStorage") || remembered;
  tokenState.textContent = !tokenInput.value ? "No token saved."
    : remember.checked ? "Using the token saved in this browser." : "Using the token kept for this tab.";
  tokenInput.addEventListener("change", function () { storeToken(tokenInput.value.trim()); });
  remember.addEventListener("change", function () { storeToken(tokenInput.value.trim()); });
  document.getElementById("token-forget").addEventListener("click", function () {
    tokenInput.value = "";
    remember.checked = false;
    write("localStorage", "");
    write("sessionStorage", "");
    tokenState.textContent = "No token saved.";
  });

  /** The `detail` of an error body as one readable line (FastAPI's 422 gives a list). */
  function describe(body, status) {
    var detail = body && body.detail;
    if (Array.isArray(detail)) {
      detail = detail.map(function (d) {
        return (d.loc ? d.loc.join(".") + ": " : "") + (d.msg || JSON.stringify(d));
      }).join("; ");
    } else if (detail && typeof detail !== "string") {
      detail = JSON.stringify(detail);
    }
    return "Error " + status + ": " + (detail || "the server gave no reason");
  }

  function settle(card, cls, message) {
    card.classList.add("is-done", cls);
    card.querySelectorAll("button, input").forEach(function (el) { el.disabled = true; });
    card.querySelector(".review-result").textContent = message;
  }

  /** Lower the pending counts (nav badge and queue line) by the cards just settled. */
  function decrementBadge(by) {
    var badge = document.querySelector(".nav .count");
    if (badge) {
      var left = Math.max(0, parseInt(badge.textContent, 10) - by);
      if (left) { badge.textContent = String(left); } else { badge.remove(); }
    }
    var open = document.querySelectorAll(".review-card:not(.is-done)").length;
    document.getElementById("queue-count").textContent =
      open ? open + " pending suggestion" + (open === 1 ? "" : "s") + " left on this page"
           : "All suggestions on this page are reviewed.";
  }

  function review(card, action) {
    var result = card.querySelector(".review-result");
    var token = tokenInput.value.trim();
    result.className = "review-result";
    if (!token) {
      result.classList.add("is-error");
      result.textContent = "Enter a token with the review scope above first.";
      tokenInput.focus();
      return;
    }
    storeToken(token);
    var note = card.querySelector("input[name=note]").value.trim();
    var buttons = card.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    result.textContent = action === "accept" ? "Accepting…" : "Rejecting…";
    fetch("/api/suggestions/" + card.dataset.id + "/" + action, {
      method: "POST",
      headers: {"Content-Type": "application/json", "Authorization": "Bearer " + token},
      body: JSON.stringify(note ? {note: note} : {})
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) {
          buttons.forEach(function (b) { b.disabled = false; });
          result.classList.add("is-error");
          result.textContent = describe(body, response.status);
          return;
        }
        var settled = 1;
        if (action === "accept") {
          var when = body && body.resolved_on ? " on " + body.resolved_on : "";
          settle(card, "is-accepted",
            "Accepted: question resolved " + card.dataset.outcome.toUpperCase() + when + ".");
          // Accepting resolves the question, so its other pending suggestions are superseded.
          document.querySelectorAll('.review-card[data-question-id="' + card.dataset.questionId + '"]')
            .forEach(function (other) {
              if (other !== card && !other.classList.contains("is-done")) {
                settle(other, "is-superseded", "Superseded: the question was resolved by another suggestion.");
                settled += 1;
              }
            });
        } else {
          settle(card, "is-rejected", "Rejected.");
        }
        decrementBadge(settled);
      });
    }).catch(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      result.classList.add("is-error");
      result.textContent = "Could not reach the server: reload the page to see the current state.";
    });
  }

  document.querySelectorAll(".review-card").forEach(function (card) {
    card.querySelectorAll("button[data-action]").forEach(function (button) {
      button.addEventListener("click", function () { review(card, button.dataset.action); });
    });
  });
})();
