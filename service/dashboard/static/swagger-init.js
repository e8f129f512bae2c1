/* Starts the vendored Swagger UI on /docs; the page names the OpenAPI document in a data-
   attribute, so no inline script is needed (the Content-Security-Policy allows none). */
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    // The default would send the document to validator.swagger.io and show its badge.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis]
  });
})();
