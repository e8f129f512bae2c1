/* The token panel the writing pages share (review queue, drafts): the token is kept for this
   tab (sessionStorage) unless the reader ticks "Remember" (localStorage), and shown back on
   the next visit; `describe` turns an error body into one readable line. */
(function () {
  "use strict";

  /** Wire the panel whose input is #inputId (with #token-state, #token-remember and
      #token-forget) to storage under `key`; returns {input, store, describe}. */
  function tokenPanel(key, inputId) {
    // The token is kept for this tab (sessionStorage) unless the reader ticks "Remember"
    // (localStorage): a review token left in a shared browser outlives the reader's visit.
    var TOKEN_KEY = key;
    var tokenInput = document.getElementById(inputId);
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

    return { input: tokenInput, store: storeToken, describe: describe };
  }

  window.forecastsTokenPanel = tokenPanel;
}());
