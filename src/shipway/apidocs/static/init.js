// Starts Swagger UI on the page's #swagger-ui element, reading the OpenAPI document from
// the URL in its data-url attribute (a separate file: the page's policy runs no inline
// script). No validator badge: it would ask validator.swagger.io.
(function () {
  "use strict";
  const el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.url,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
  });
})();
