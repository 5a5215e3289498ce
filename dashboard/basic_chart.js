// Flashpoint's chart component (Streamlit custom component v2, rendered in the page): loads
// plotly.js's basic bundle once per page and draws the figure it is given. See basic_chart.py.
function loadPlotly(bundleUrl) {
  // One <script> per page, shared by every chart; a failed load is retried on the next render.
  if (!window.__flashpointPlotly) {
    window.__flashpointPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) { resolve(window.Plotly); return; }
      const script = document.createElement("script");
      script.src = new URL(bundleUrl, document.baseURI).href;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => {
        window.__flashpointPlotly = undefined;
        reject(new Error("could not load " + script.src));
      };
      document.head.appendChild(script);
    });
  }
  return window.__flashpointPlotly;
}

export default function (component) {
  const { parentElement, data } = component;
  let chart = parentElement.querySelector(".flashpoint-chart");
  if (!chart) {
    chart = document.createElement("div");
    chart.className = "flashpoint-chart";
    chart.style.width = "100%";
    parentElement.appendChild(chart);
  }
  chart.style.height = data.height + "px";
  chart.setAttribute("aria-label", data.label);
  const figure = JSON.parse(data.spec);
  loadPlotly(data.bundle)
    .then((Plotly) => Plotly.react(chart, figure.data || [], figure.layout || {}, data.config))
    .then(() => {
      // plotly.js follows window resizes itself; this follows the column's own width (the
      // sidebar opening or closing), once per chart element.
      if (!chart.flashpointResize) {
        let width = chart.clientWidth;
        chart.flashpointResize = new ResizeObserver(() => {
          if (chart.clientWidth !== width) {
            width = chart.clientWidth;
            window.Plotly.Plots.resize(chart);
          }
        });
        chart.flashpointResize.observe(chart);
      }
    })
    .catch((error) => {
      chart.textContent = "The chart could not be drawn: " + error.message;
    });
  return () => {
    if (chart.flashpointResize) {
      chart.flashpointResize.disconnect();
      chart.flashpointResize = undefined;
    }
  };
}
