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

// The page's theme (light or dark, Streamlit follows the browser): chart backgrounds stay
// transparent, and the figure's ink colour (text, axis lines, dark traces) and grid lines take the
// page's own text colour, so a chart is as readable on a dark page as on a light one.
function pageInk(element) {
  const match = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(getComputedStyle(element).color);
  return match ? match.slice(1, 4).map(Number) : null;
}

function recolour(value, ink, text) {
  return typeof value === "string" && value.toLowerCase() === ink ? text : value;
}

function themed(figure, element, ink) {
  const rgb = pageInk(element);
  const layout = { ...(figure.layout || {}) };
  layout.paper_bgcolor = "rgba(0,0,0,0)";
  layout.plot_bgcolor = "rgba(0,0,0,0)";
  if (!rgb) return { data: figure.data || [], layout };
  const text = `rgb(${rgb.join(",")})`;
  const grid = `rgba(${rgb.join(",")},0.16)`;
  layout.font = { ...(layout.font || {}), color: text };
  for (const key of Object.keys(layout)) {
    if (!/^[xy]axis\d*$/.test(key)) continue;
    const axis = { ...layout[key] };
    // Hidden grids (transparent on purpose) stay hidden.
    if (axis.gridcolor !== "rgba(0,0,0,0)") axis.gridcolor = grid;
    axis.linecolor = grid;
    axis.zerolinecolor = recolour(axis.zerolinecolor, ink, text);
    layout[key] = axis;
  }
  const data = (figure.data || []).map((trace) => {
    const copy = { ...trace };
    if (trace.line) copy.line = { ...trace.line, color: recolour(trace.line.color, ink, text) };
    if (trace.marker && trace.marker.line) {
      copy.marker = {
        ...trace.marker,
        line: { ...trace.marker.line, color: recolour(trace.marker.line.color, ink, text) },
      };
    }
    return copy;
  });
  return { data, layout };
}

export default function (component) {
  const { parentElement, data } = component;
  if (data.preload) {
    // No figure: start loading the bundle for the charts still to come (a failure is theirs to
    // report, and they retry it).
    loadPlotly(data.bundle).catch(() => {});
    return undefined;
  }
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
  const ink = String(data.ink || "").toLowerCase();
  const draw = (Plotly) => {
    const shown = themed(figure, parentElement, ink);
    return Plotly.react(chart, shown.data, shown.layout, data.config);
  };
  // The browser's light/dark preference can change while the page is open: redraw in the new
  // colours once Streamlit has restyled the page.
  if (!chart.flashpointScheme && window.matchMedia) {
    chart.flashpointScheme = window.matchMedia("(prefers-color-scheme: dark)");
    chart.flashpointRetheme = () =>
      requestAnimationFrame(() => window.Plotly && chart.flashpointDraw(window.Plotly));
    chart.flashpointScheme.addEventListener("change", chart.flashpointRetheme);
  }
  chart.flashpointDraw = draw;
  loadPlotly(data.bundle)
    .then(draw)
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
    if (chart.flashpointScheme) {
      chart.flashpointScheme.removeEventListener("change", chart.flashpointRetheme);
      chart.flashpointScheme = undefined;
    }
    if (chart.flashpointResize) {
      chart.flashpointResize.disconnect();
      chart.flashpointResize = undefined;
    }
  };
}
