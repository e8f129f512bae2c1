/* /questions/new: POST /api/questions with the question and its first forecast. */
(function () {
  "use strict";

  var W = window.ForecastsWrites;
  var form = document.getElementById("new-question");
  if (!form || !W) {
    return;
  }
  var token = document.getElementById("write-token");
  token.value = W.keptToken();
  W.loadEstimates(document.getElementById("nq-estimate"));

  function value(id) {
    var element = document.getElementById(id);
    return element ? element.value.trim() : "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    W.clearErrors(form);
    var secret = token.value.trim();
    var general = form.querySelector('[data-error-for="_form"]');
    if (!secret) {
      general.textContent = "Enter a token with the forecast scope first.";
      return;
    }
    var body = {
      title: value("nq-title"),
      resolution_criteria: value("nq-criteria"),
      resolve_by: value("nq-resolve-by"),
      default_outcome: value("nq-default-outcome") || "no"
    };
    if (value("nq-opened-on")) { body.opened_on = value("nq-opened-on"); }
    if (value("nq-news-query")) { body.news_query = value("nq-news-query"); }
    var tags = value("nq-tags");
    if (tags) {
      body.tags = tags.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
    }
    if (value("nq-source-url") || value("nq-source-title")) {
      body.source = {};
      if (value("nq-source-url")) { body.source.url = value("nq-source-url"); }
      if (value("nq-source-title")) { body.source.title = value("nq-source-title"); }
    }
    var probability = value("nq-probability");
    var estimate = value("nq-estimate");
    if (probability || estimate) {
      var forecast = {};
      if (probability) {
        forecast.probability = Number(probability);
      } else {
        forecast.estimate = estimate;
      }
      if (value("nq-forecaster")) { forecast.forecaster = value("nq-forecaster"); }
      if (value("nq-rationale")) { forecast.rationale = value("nq-rationale"); }
      body.forecast = forecast;
    }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    general.textContent = "Saving…";
    W.post("/api/questions", secret, body).then(function (answer) {
      if (answer.ok) {
        W.keepToken(secret);
        window.location.assign("/questions/" + answer.body.id);
        return;
      }
      button.disabled = false;
      W.showErrors(form, answer.status, answer.body);
    }).catch(function () {
      button.disabled = false;
      general.textContent = "Not saved: the server could not be reached.";
    });
  });
}());
