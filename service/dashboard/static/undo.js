/* Undo a resolution from the question page: POST /api/questions/{id}/reopen with the
   reviewer's token (the one the review queue keeps, if any), then show the reopened page. */
(function () {
  "use strict";

  var TOKEN_KEY = "forecasts.reviewToken";  // shared with review.js
  var form = document.getElementById("undo");
  if (!form) {
    return;
  }
  var tokenInput = document.getElementById("undo-token");
  var note = document.getElementById("undo-note");
  var result = document.getElementById("undo-result");
  var button = document.getElementById("undo-button");

  function kept(name) {
    try {
      return window[name].getItem(TOKEN_KEY) || "";
    } catch (e) {
      return "";
    }
  }
  tokenInput.value = kept("sessionStorage") || kept("localStorage");

  function describe(body, status) {
    var detail = body && body.detail;
    if (Array.isArray(detail)) {
      detail = detail.map(function (d) { return d.msg || JSON.stringify(d); }).join("; ");
    }
    return "Not undone (" + status + "): " + (detail || "the server gave no reason");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var token = tokenInput.value.trim();
    if (!token) {
      result.textContent = "Enter a token with the review scope first.";
      return;
    }
    button.disabled = true;
    result.textContent = "Undoing…";
    var body = note.value.trim() ? { note: note.value.trim() } : {};
    fetch("/api/questions/" + form.dataset.questionId + "/reopen", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.ok) {
          result.textContent = "Reopened.";
          window.location.reload();
          return;
        }
        button.disabled = false;
        result.textContent = describe(data, response.status);
      });
    }).catch(function () {
      button.disabled = false;
      result.textContent = "Not undone: the server could not be reached.";
    });
  });
}());
