/* The question page's forms: add a forecast, resolve or annul; both with the kept token. */
(function () {
  "use strict";

  var W = window.ForecastsWrites;
  var token = document.getElementById("write-token");
  if (!W || !token) {
    return;
  }
  token.value = W.keptToken();
  W.loadEstimates(document.getElementById("fc-estimate"));

  function value(form, name) {
    var element = form.elements[name];
    if (!element) {
      return "";
    }
    if (element.length !== undefined && element.tagName === undefined) {
      for (var i = 0; i < element.length; i += 1) {
        if (element[i].checked) {
          return element[i].value;
        }
      }
      return "";
    }
    return element.value.trim();
  }

  function wire(form, build) {
    if (!form) {
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      W.clearErrors(form);
      var general = form.querySelector('[data-error-for="_form"]');
      var secret = token.value.trim();
      if (!secret) {
        general.textContent = "Enter a token first (above).";
        return;
      }
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      general.textContent = "Saving…";
      W.post(form.dataset.action, secret, build(form)).then(function (answer) {
        if (answer.ok) {
          W.keepToken(secret);
          window.location.reload();
          return;
        }
        button.disabled = false;
        W.showErrors(form, answer.status, answer.body);
      }).catch(function () {
        button.disabled = false;
        general.textContent = "Not saved: the server could not be reached.";
      });
    });
  }

  wire(document.getElementById("forecast-form"), function (form) {
    var body = {};
    var probability = value(form, "probability");
    if (probability) {
      body.probability = Number(probability);
    } else if (value(form, "estimate")) {
      body.estimate = value(form, "estimate");
    }
    ["forecaster", "made_on", "rationale"].forEach(function (name) {
      if (value(form, name)) {
        body[name] = value(form, name);
      }
    });
    return body;
  });

  wire(document.getElementById("resolve-form"), function (form) {
    var body = { outcome: value(form, "outcome") };
    if (value(form, "resolved_on")) { body.resolved_on = value(form, "resolved_on"); }
    if (value(form, "note")) { body.note = value(form, "note"); }
    return body;
  });
}());
