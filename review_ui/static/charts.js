// History charts: each canvas names its grouping (data-by) and the page's filters
// (data-query); the counts come from the JSON API, so page and API cannot disagree.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  document.querySelectorAll("canvas.history-chart").forEach(function (canvas) {
    var by = canvas.dataset.by;
    var query = canvas.dataset.query;
    var url = "/api/v1/history/counts?by=" + encodeURIComponent(by) + (query ? "&" + query : "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("counts " + response.status); }
        return response.json();
      })
      .then(function (data) {
        // Bars for time too: the API returns only non-empty hours and days, and a
        // line would draw a slope across the gaps.
        new Chart(canvas, {
          type: "bar",
          data: {
            labels: data.counts.map(function (c) { return c.label; }),
            datasets: [{
              label: canvas.dataset.label,
              data: data.counts.map(function (c) { return c.count; }),
              backgroundColor: "rgba(11, 92, 173, 0.55)",
              borderColor: "#0b5cad",
              borderWidth: 1
            }]
          },
          options: {
            animation: false,
            responsive: false,
            plugins: { legend: { display: false } },
            scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
          }
        });
        canvas.dataset.points = String(data.counts.length);
        canvas.dataset.total = String(data.total);
      })
      .catch(function (error) { canvas.dataset.error = String(error); });
  });
})();
