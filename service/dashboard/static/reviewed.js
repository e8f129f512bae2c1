/* The review queue's "reviewed" tab: Undo an accepted suggestion by reopening its question
   (POST /api/questions/{id}/reopen with {note}), with the token in the bar above. */
(function () {
  "use strict";

  var tokenInput = document.getElementById("review-token");

  function describe(body, status) {
    var detail = body && body.detail;
    if (Array.isArray(detail)) {
      detail = detail.map(function (d) { return d.msg || JSON.stringify(d); }).join("; ");
    }
    return "Not undone (" + status + "): " + (detail || "the server gave no reason");
  }

  document.querySelectorAll("form.reviewed-undo").forEach(function (form) {
    var result = form.querySelector(".review-result");
    var button = form.querySelector("button");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var token = tokenInput ? tokenInput.value.trim() : "";
      if (!token) {
        result.textContent = "Enter a token with the review scope above first.";
        return;
      }
      var note = form.querySelector("input[name=note]").value.trim();
      button.disabled = true;
      result.textContent = "Undoing…";
      fetch("/api/questions/" + form.dataset.questionId + "/reopen", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
        body: JSON.stringify(note ? { note: note } : {})
      }).then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (response.ok) {
            result.textContent = "Undone: the question is open again and its suggestions are back in the queue.";
            form.closest(".reviewed-item").classList.add("is-done");
            return;
          }
          button.disabled = false;
          result.textContent = describe(body, response.status);
        });
      }).catch(function () {
        button.disabled = false;
        result.textContent = "Not undone: the server could not be reached.";
      });
    });
  });
}());
