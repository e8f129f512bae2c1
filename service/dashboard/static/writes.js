/* Shared by the dashboard's forms that write: the kept token (the review queue's key in
   sessionStorage, or localStorage when "Remember" was ticked there), a JSON POST with it,
   and errors shown beside the field a 422's `loc` names (else at the form's foot). */
(function () {
  "use strict";

  var TOKEN_KEY = "forecasts.reviewToken";  // shared with review.js and undo.js

  function store(name) {
    try {
      return window[name];
    } catch (e) {
      return null;
    }
  }

  function keptToken() {
    var stores = ["sessionStorage", "localStorage"];
    for (var i = 0; i < stores.length; i += 1) {
      var s = store(stores[i]);
      try {
        var value = s ? s.getItem(TOKEN_KEY) : "";
        if (value) {
          return value;
        }
      } catch (e) { /* storage switched off */ }
    }
    return "";
  }

  function keepToken(value) {
    // Kept where it already is ("Remember" puts it in localStorage), else for this tab only.
    var local = store("localStorage");
    try {
      if (local && local.getItem(TOKEN_KEY)) {
        local.setItem(TOKEN_KEY, value);
        return;
      }
    } catch (e) { /* fall through */ }
    var session = store("sessionStorage");
    try {
      if (session) {
        session.setItem(TOKEN_KEY, value);
      }
    } catch (e) { /* the token then lives in the page only */ }
  }

  function clearErrors(form) {
    var shown = form.querySelectorAll("[data-error-for]");
    for (var i = 0; i < shown.length; i += 1) {
      shown[i].textContent = "";
    }
    var fields = form.querySelectorAll("[aria-invalid]");
    for (var j = 0; j < fields.length; j += 1) {
      fields[j].removeAttribute("aria-invalid");
    }
  }

  function slot(form, loc) {
    // loc is ["body", "forecast", "probability"]: try "forecast.probability", then "probability".
    var path = (loc || []).filter(function (part) { return part !== "body"; }).map(String);
    var names = [];
    for (var i = 0; i < path.length; i += 1) {
      names.push(path.slice(i).join("."));
    }
    for (var k = 0; k < names.length; k += 1) {
      var found = form.querySelector('[data-error-for="' + names[k] + '"]');
      if (found) {
        return found;
      }
    }
    return null;
  }

  function showErrors(form, status, body) {
    var general = form.querySelector('[data-error-for="_form"]');
    var detail = body && body.detail;
    var loose = [];
    if (Array.isArray(detail)) {
      detail.forEach(function (problem) {
        var message = problem.msg || JSON.stringify(problem);
        var place = slot(form, problem.loc);
        if (place) {
          place.textContent = place.textContent ? place.textContent + "; " + message : message;
          var input = place.parentNode && place.parentNode.querySelector("input, select, textarea");
          if (input) {
            input.setAttribute("aria-invalid", "true");
          }
        } else {
          loose.push(message);
        }
      });
    } else {
      var place = body && body.field ? slot(form, ["body", body.field]) : null;
      var text = detail || "the server gave no reason";
      if (place) {
        place.textContent = text;
      } else {
        loose.push(text);
      }
    }
    if (general) {
      general.textContent = loose.length ? "Not saved (" + status + "): " + loose.join("; ")
        : "Not saved (" + status + "): see the marked fields.";
    }
  }

  function post(path, token, payload) {
    return fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        return { ok: response.ok, status: response.status, body: data };
      });
    });
  }

  function loadEstimates(select) {
    if (!select) {
      return;
    }
    fetch("/api/estimates").then(function (r) { return r.json(); }).then(function (rows) {
      rows.forEach(function (row) {
        var option = document.createElement("option");
        option.value = row.phrase;
        option.textContent = row.phrase + " (" + Math.round(row.probability * 100) + " %)";
        select.appendChild(option);
      });
    }).catch(function () { /* the probability field still works */ });
  }

  window.ForecastsWrites = {
    keptToken: keptToken,
    keepToken: keepToken,
    clearErrors: clearErrors,
    showErrors: showErrors,
    post: post,
    loadEstimates: loadEstimates
  };
}());
