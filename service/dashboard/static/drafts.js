/* Drafts: find the claims in a text or a page, edit the proposed questions, accept or dismiss
   them, all through the JSON API with the reader's token. No inline script: the page's
   Content-Security-Policy allows scripts from this origin only. */
(function () {
  "use strict";

  var panel = window.forecastsTokenPanel("forecasts.draftToken", "draft-token");
  var tokenInput = panel.input;
  var storeToken = panel.store;
  var describe = panel.describe;

  /** Calls the API; resolves to {ok, status, body}. Writes need the token. */
  function call(method, path, payload) {
    var headers = {"Content-Type": "application/json"};
    var token = tokenInput.value.trim();
    if (token) {
      headers.Authorization = "Bearer " + token;
      storeToken(token);
    }
    var init = {method: method, headers: headers};
    if (payload !== undefined) {
      init.body = JSON.stringify(payload);
    }
    return fetch(path, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        return {ok: response.ok, status: response.status, body: body};
      });
    });
  }

  function needToken(result) {
    if (tokenInput.value.trim()) {
      return false;
    }
    result.className = "review-result is-error";
    result.textContent = "Enter a token with the forecast scope above first.";
    tokenInput.focus();
    return true;
  }

  function percent(p) {
    return Math.round(p * 100) + "%";
  }

  var form = document.getElementById("draft-form");
  var statusLine = document.getElementById("draft-status");
  var resultSection = document.getElementById("draft-result");
  var claimList = document.getElementById("draft-claims");
  var template = document.getElementById("claim-template");

  /** The sentence, with its hedge marked, built from text nodes (never parsed as HTML). */
  function fillSentence(node, sentence, hedge) {
    node.textContent = "";
    var at = hedge ? sentence.indexOf(hedge) : -1;
    if (at < 0) {
      node.textContent = sentence;
      return;
    }
    var mark = document.createElement("mark");
    mark.textContent = hedge;
    node.appendChild(document.createTextNode(sentence.slice(0, at)));
    node.appendChild(mark);
    node.appendChild(document.createTextNode(sentence.slice(at + hedge.length)));
  }

  function settle(card, claim, message) {
    card.classList.remove("is-accepted", "is-dismissed");
    var badge = card.querySelector(".draft-claim-status");
    badge.textContent = claim.status;
    badge.className = "badge draft-claim-status " +
      (claim.status === "accepted" ? "badge-yes" : claim.status === "dismissed" ? "badge-no" : "badge-open");
    if (claim.status === "proposed") {
      return;
    }
    card.classList.add(claim.status === "accepted" ? "is-accepted" : "is-dismissed");
    card.querySelectorAll("button, input, textarea, select").forEach(function (el) { el.disabled = true; });
    var result = card.querySelector(".draft-claim-result");
    result.className = "review-result draft-claim-result";
    result.textContent = message || (claim.status === "accepted" ? "Accepted." : "Dismissed.");
    if (claim.status === "accepted" && claim.question_id) {
      var link = card.querySelector(".draft-question-link");
      link.href = "/questions/" + claim.question_id;
      link.textContent = "Question " + claim.question_id;
      link.hidden = false;
    }
  }

  function overrides(card, claim) {
    var proposed = claim.proposed;
    var body = {};
    ["title", "resolution_criteria", "resolve_by", "news_query", "default_outcome"].forEach(function (name) {
      var value = card.querySelector("[name=" + name + "]").value.trim();
      if (value !== String(proposed[name] == null ? "" : proposed[name]).trim()) {
        body[name] = value;
      }
    });
    var forecaster = card.querySelector("[name=forecaster]").value.trim();
    if (forecaster) {
      body.forecaster = forecaster;
    }
    var estimate = card.querySelector("[name=estimate]").value.trim();
    if (estimate && estimate !== (claim.estimate || "")) {
      body.estimate = estimate;
    }
    var probability = card.querySelector("[name=probability]").value.trim();
    if (probability !== "") {
      body.probability = Number(probability);
    }
    return body;
  }

  function decide(card, draftId, claim, action) {
    var result = card.querySelector(".draft-claim-result");
    result.className = "review-result draft-claim-result";
    if (needToken(result)) {
      return;
    }
    var buttons = card.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    result.textContent = action === "accept" ? "Accepting…" : "Dismissing…";
    var path = "/api/drafts/" + draftId + "/claims/" + claim.index + "/" + action;
    call("POST", path, action === "accept" ? overrides(card, claim) : undefined).then(function (answer) {
      if (!answer.ok) {
        buttons.forEach(function (b) { b.disabled = false; });
        result.classList.add("is-error");
        result.textContent = describe(answer.body, answer.status);
        return;
      }
      if (action === "accept") {
        claim.status = "accepted";
        claim.question_id = answer.body.id;
        settle(card, claim, "Accepted: question " + answer.body.id + " created, “" + answer.body.title + "”.");
      } else {
        settle(card, answer.body);
      }
    }).catch(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      result.classList.add("is-error");
      result.textContent = "Could not reach the server: reload the page to see the current state.";
    });
  }

  function sourceLine(source) {
    var parts = [];
    if (source.title) { parts.push("“" + source.title + "”"); }
    if (source.author) { parts.push("by " + source.author); }
    if (source.publisher) { parts.push(source.publisher); }
    if (source.published_on) { parts.push("published " + source.published_on); }
    if (source.url) { parts.push(source.url); }
    return parts.length ? parts.join(" · ") : "No source named: horizons count from the day the draft was made.";
  }

  function defaultForecaster(source) {
    return source.author || source.publisher || source.title || "";
  }

  function render(draft) {
    resultSection.hidden = false;
    resultSection.dataset.draftId = String(draft.id);
    document.getElementById("draft-heading").textContent = "Draft " + draft.id;
    document.getElementById("draft-source").textContent = sourceLine(draft.source);
    var count = draft.claims.length;
    document.getElementById("draft-count").textContent = count
      ? count + " claim" + (count === 1 ? "" : "s") + " found."
      : "No claims found in this text: no sentence says what will or may happen.";
    claimList.textContent = "";
    draft.claims.forEach(function (claim) {
      var card = template.content.firstElementChild.cloneNode(true);
      card.id = "claim-" + claim.index;
      card.dataset.index = String(claim.index);
      fillSentence(card.querySelector(".draft-sentence"), claim.sentence, claim.hedge);
      card.querySelector(".draft-claim-estimate").textContent = claim.estimate
        ? "“" + claim.hedge + "” → " + claim.estimate + " (" + percent(claim.probability) + ")"
        : claim.hedge
          ? "“" + claim.hedge + "”: not in the estimate table; give an estimate or a probability"
          : "";
      ["title", "resolution_criteria", "resolve_by", "news_query", "default_outcome"].forEach(function (name) {
        card.querySelector("[name=" + name + "]").value = claim.proposed[name] == null ? "" : claim.proposed[name];
      });
      card.querySelector("[name=forecaster]").placeholder = defaultForecaster(draft.source) || "required: the source names no one";
      card.querySelector("[name=estimate]").value = claim.estimate || "";
      card.querySelectorAll("button[data-action]").forEach(function (button) {
        button.addEventListener("click", function () { decide(card, draft.id, claim, button.dataset.action); });
      });
      claimList.appendChild(card);
      settle(card, claim);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    statusLine.className = "review-result";
    if (needToken(statusLine)) {
      return;
    }
    var body = {};
    var text = document.getElementById("draft-text").value;
    var url = document.getElementById("draft-url").value.trim();
    if (text.trim()) { body.text = text; }
    if (url) { body.url = url; }
    [["title", "draft-title"], ["publisher", "draft-publisher"], ["author", "draft-author"],
     ["published_on", "draft-published-on"]].forEach(function (pair) {
      var value = document.getElementById(pair[1]).value.trim();
      if (value) { body[pair[0]] = value; }
    });
    var submit = document.getElementById("draft-submit");
    submit.disabled = true;
    statusLine.textContent = body.url && !body.text ? "Fetching the page and finding claims…" : "Finding claims…";
    call("POST", "/api/drafts", body).then(function (answer) {
      submit.disabled = false;
      if (!answer.ok) {
        statusLine.classList.add("is-error");
        statusLine.textContent = describe(answer.body, answer.status);
        return;
      }
      statusLine.textContent = "";
      render(answer.body);
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "/drafts?id=" + answer.body.id);
      }
    }).catch(function () {
      submit.disabled = false;
      statusLine.classList.add("is-error");
      statusLine.textContent = "Could not reach the server.";
    });
  });

  var wanted = resultSection.dataset.draftId;
  if (wanted) {
    call("GET", "/api/drafts/" + encodeURIComponent(wanted)).then(function (answer) {
      if (answer.ok) {
        render(answer.body);
      } else {
        statusLine.className = "review-result is-error";
        statusLine.textContent = describe(answer.body, answer.status);
      }
    });
  }
})();
