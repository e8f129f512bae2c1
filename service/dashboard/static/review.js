/* Review queue: accept or reject suggestions through the JSON API with the reader's token. */
(function () {
  "use strict";

  var panel = window.forecastsTokenPanel("forecasts.reviewToken", "review-token");
  var tokenInput = panel.input;
  var storeToken = panel.store;
  var describe = panel.describe;

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
