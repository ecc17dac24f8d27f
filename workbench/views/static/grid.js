// Comparison grid front end (anywidget). Holds one page; every change goes back to Python.
const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const fmt = (v, d = 2) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));
const pct = (v) => (v === null || v === undefined ? "–" : `${Math.round(v * 100)}%`);
const SORTS = ["row", "pass", "score", "tokens", "latency", "cost", "distinct", "errors"];

function h(tag, attrs = {}, html = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.innerHTML = html;
  return e;
}

function render({ model, el }) {
  const root = h("div", { class: "wb-grid" });
  el.appendChild(root);
  const set = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  let nonce = 0;
  const grade = (row_id, variant, label, comment, repeat = null) =>
    set("label", { row_id, variant, label, comment, repeat, nonce: ++nonce });

  const header = h("div", { class: "wb-summary" });
  const controls = h("div", { class: "wb-controls" });
  const table = h("div", { class: "wb-table" });
  const detail = h("div", { class: "wb-detail" });
  const status = h("div", { class: "wb-status" });
  root.append(header, controls, status, table, detail);

  function drawHeader() {
    const scorers = model.get("scorers");
    const rows = model.get("summary");
    let html = `<div class="wb-title">${esc(model.get("title"))}</div><table><tr><th>variant</th>`;
    for (const s of scorers) html += `<th>${esc(s)} pass rate (95% CI)</th>`;
    html += "<th>cost $</th><th>latency p50 ms</th><th>errors</th></tr>";
    for (const r of rows) {
      html += `<tr><td>${esc(r.variant)}</td>`;
      for (const s of scorers)
        html += `<td>${pct(r[s + "_pass_rate"])} <span class="wb-ci">[${pct(r[s + "_pass_low"])}–${pct(r[s + "_pass_high"])}]</span></td>`;
      html += `<td>${fmt(r.cost_usd, 4)}</td><td>${fmt(r.latency_p50_ms, 0)}</td><td>${r.errors ?? 0}</td></tr>`;
    }
    html += "</table>";
    if (!model.get("summary_ready")) html += `<div class="wb-verdict">computing statistics…</div>`;
    if (model.get("verdict")) html += `<div class="wb-verdict">${esc(model.get("verdict"))}</div>`;
    header.innerHTML = html;
  }

  function drawControls() {
    const f = model.get("filters") || {};
    const s = model.get("sort") || {};
    const opts = (list, cur, blank) =>
      (blank !== undefined ? `<option value="">${blank}</option>` : "") +
      list.map((x) => `<option value="${esc(x)}"${x === cur ? " selected" : ""}>${esc(x)}</option>`).join("");
    controls.innerHTML = `
      <label><input type="checkbox" class="wb-f-failures"${f.failures ? " checked" : ""}> only failures</label>
      <label><input type="checkbox" class="wb-f-disagree"${f.disagree ? " checked" : ""}> only disagreements</label>
      <label><input type="checkbox" class="wb-f-other-tool"${f.other_tool ? " checked" : ""}> called a different tool than baseline</label>
      <input type="search" class="wb-f-search" placeholder="search" value="${esc(f.search || "")}">
      <label>scorer <select class="wb-f-scorer">${opts(model.get("scorers"), f.scorer, "any")}</select></label>
      <label>sort <select class="wb-s-by">${opts(SORTS, s.by || "row")}</select></label>
      <select class="wb-s-variant">${opts(model.get("variants"), s.variant, "all variants")}</select>
      <label><input type="checkbox" class="wb-s-desc"${s.desc ? " checked" : ""}> desc</label>
      <label>diff vs <select class="wb-baseline">${opts(model.get("variants"), model.get("baseline"), "none")}</select></label>
      <span class="wb-pager"><button class="wb-prev">‹</button>
      <span class="wb-page">page ${model.get("page") + 1} of ${model.get("pages")} · ${model.get("total")} rows</span>
      <button class="wb-next">›</button></span>`;
    const q = (c) => controls.querySelector(c);
    const filt = () => ({
      failures: q(".wb-f-failures").checked,
      disagree: q(".wb-f-disagree").checked,
      search: q(".wb-f-search").value,
      scorer: q(".wb-f-scorer").value || null,
      other_tool: q(".wb-f-other-tool").checked,
    });
    const sorted = () => ({ by: q(".wb-s-by").value, variant: q(".wb-s-variant").value || null, desc: q(".wb-s-desc").checked });
    for (const c of [".wb-f-failures", ".wb-f-disagree", ".wb-f-other-tool", ".wb-f-scorer"]) q(c).onchange = () => set("filters", filt());
    q(".wb-f-search").onchange = () => set("filters", filt());
    for (const c of [".wb-s-by", ".wb-s-variant", ".wb-s-desc"]) q(c).onchange = () => set("sort", sorted());
    q(".wb-baseline").onchange = () => set("baseline", q(".wb-baseline").value);
    q(".wb-prev").onclick = () => model.get("page") > 0 && set("page", model.get("page") - 1);
    q(".wb-next").onclick = () => model.get("page") + 1 < model.get("pages") && set("page", model.get("page") + 1);
  }

  function cellHtml(row, c) {
    if (c.missing) return `<td class="wb-cell wb-none">not run</td>`;
    const focus = (model.get("filters") || {}).scorer || model.get("scorers")[0];
    const state = c.errors ? "fail" : focus ? c.checks[focus].state : "none";
    const badges = Object.entries(c.checks)
      .map(([s, x]) => `<span class="wb-badge wb-${x.state}" title="${esc(s)}">${esc(s)} ${x.k}/${x.n}</span>`)
      .join("");
    const diffed = c.diff !== null && c.diff !== undefined;
    const calls = diffed ? "" : (c.tool_calls || []).map((t) => `<div class="wb-tool${c.tools_invalid ? " wb-error" : ""}">→ ${esc(t)}</div>`).join("");
    const mode = c.tools_mode ? `<div class="wb-reps">${esc(c.tools_mode)}</div>` : "";
    const text = (diffed ? c.diff : esc(c.output)) + calls + mode;
    const reps = c.n > 1 ? `<span class="wb-reps">${c.n} repeats · ${c.distinct} distinct</span>` : "";
    const up = c.label === "up" ? " wb-on" : "";
    const down = c.label === "down" ? " wb-on" : "";
    return `<td class="wb-cell wb-${state}" data-row="${esc(JSON.stringify(row.row_id))}" data-variant="${esc(c.variant)}">
      <div class="wb-badges">${badges}</div>
      <div class="wb-output">${text}${c.errors ? `<div class="wb-error">${c.errors} failed call(s)</div>` : ""}${c.starved ? `<div class="wb-error" title="finish_reason length with no text: raise max_tokens">${c.starved} empty: reasoning used the output budget</div>` : ""}</div>
      <div class="wb-meta">score ${fmt(c.score)} · ${fmt(c.tokens, 0)} tok · ${fmt(c.latency_ms, 0)} ms · $${fmt(c.cost_usd, 5)} ${reps}</div>
      <div class="wb-grade"><button class="wb-up${up}" title="good (thumbs up)">▲</button><button class="wb-down${down}" title="bad (thumbs down)">▼</button>
      ${c.comment ? `<span class="wb-comment">${esc(c.comment)}</span>` : ""}</div></td>`;
  }

  function drawTable() {
    const inputs = model.get("inputs");
    let html = `<table><thead><tr><th>row</th>`;
    for (const v of model.get("variants")) html += `<th>${esc(v)}${v === model.get("baseline") ? " (baseline)" : ""}</th>`;
    html += "</tr></thead><tbody>";
    for (const row of model.get("rows")) {
      const ins = inputs.map((c) => `<div><b>${esc(c)}</b>: ${esc(row.inputs[c])}</div>`).join("");
      html += `<tr class="wb-row"><td class="wb-inputs"><div class="wb-rowid">${esc(row.row_id)}</div>${ins}</td>`;
      html += row.cells.map((c) => cellHtml(row, c)).join("") + "</tr>";
    }
    table.innerHTML = html + "</tbody></table>";
  }

  table.addEventListener("click", (ev) => {
    const td = ev.target.closest("td.wb-cell[data-variant]");
    if (!td) return;
    const row_id = JSON.parse(td.dataset.row);
    const variant = td.dataset.variant;
    if (ev.target.closest(".wb-up, .wb-down")) {
      const wanted = ev.target.closest(".wb-up") ? "up" : "down";
      const on = ev.target.closest("button").classList.contains("wb-on");
      const row = model.get("rows").find((r) => JSON.stringify(r.row_id) === td.dataset.row);
      const cell = row?.cells.find((c) => c.variant === variant);
      grade(row_id, variant, on ? "" : wanted, on ? "" : cell?.comment || "");
      return;
    }
    set("selected", { row_id, variant });
  });

  function drawDetail() {
    const d = model.get("detail");
    if (!d || !d.repeats) {
      detail.innerHTML = "";
      return;
    }
    let html = `<div class="wb-detail-head"><b>row ${esc(d.row_id)} · ${esc(d.variant)}</b> <button class="wb-close">close</button></div>`;
    for (const r of d.repeats) {
      const msgs = r.messages.map((m) => `<div class="wb-msg"><b>${esc(m.role)}</b><pre>${esc(m.content)}</pre></div>`).join("");
      const scores = r.scores
        .map((s) => `<li class="wb-${s.passed === null ? "none" : s.passed ? "pass" : "fail"}"><b>${esc(s.scorer)}</b> ${esc(s.value)} — ${esc(s.reason)}</li>`)
        .join("");
      html += `<div class="wb-repeat"><h4>repeat ${r.repeat}${r.cached ? " (cached)" : ""}</h4>${msgs}
        ${r.reasoning ? `<details><summary>reasoning</summary><pre>${esc(r.reasoning)}</pre></details>` : ""}
        <div><b>output</b><pre>${esc(r.output)}</pre></div>${r.error ? `<div class="wb-error">${esc(r.error)}</div>` : ""}
        ${r.tool_calls && r.tool_calls.length ? `<div><b>tool calls</b><pre>${esc(JSON.stringify(r.tool_calls, null, 2))}</pre></div>` : ""}
        ${r.trajectory ? `<details><summary>trajectory (${r.trajectory.length} turns)</summary><pre>${esc(JSON.stringify(r.trajectory, null, 2))}</pre></details>` : ""}
        ${r.starved ? `<div class="wb-error">empty: reasoning used the whole output budget (finish_reason length)</div>` : ""}
        <div class="wb-meta">tokens: ${fmt(r.input_tokens, 0)} in (${fmt(r.cached_input_tokens, 0)} cached, ${fmt(r.cache_write_tokens, 0)} written) · ${fmt(r.output_tokens, 0)} out (${fmt(r.reasoning_tokens, 0)} reasoning) · first token ${fmt(r.ttft_ms, 0)} ms · ${fmt(r.latency_ms, 0)} ms · $${fmt(r.cost_usd, 5)}</div>
        <ul class="wb-scores">${scores}</ul>
        <details><summary>raw response</summary><pre>${esc(JSON.stringify(r.raw, null, 2))}</pre></details>
        <div class="wb-grade-detail" data-repeat="${r.repeat}">
          <select class="wb-grade-select">${["", "up", "down", "A", "B", "C", "D", "F"].map((g) => `<option${g === r.label ? " selected" : ""}>${g}</option>`).join("")}</select>
          <input class="wb-grade-comment" placeholder="comment" value="${esc(r.comment)}"><button class="wb-grade-save">save</button></div></div>`;
    }
    detail.innerHTML = html;
    detail.querySelector(".wb-close").onclick = () => set("selected", {});
    for (const box of detail.querySelectorAll(".wb-grade-detail"))
      box.querySelector(".wb-grade-save").onclick = () =>
        grade(d.row_id, d.variant, box.querySelector(".wb-grade-select").value, box.querySelector(".wb-grade-comment").value, Number(box.dataset.repeat));
  }

  const drawStatus = () => {
    status.textContent = model.get("error");
    status.style.display = model.get("error") ? "" : "none";
  };
  drawHeader();
  drawControls();
  drawTable();
  drawDetail();
  drawStatus();
  model.on("change:summary", drawHeader);
  model.on("change:verdict", drawHeader);
  model.on("change:summary_ready", drawHeader);
  for (const n of ["page", "pages", "total", "filters", "sort", "baseline"]) model.on(`change:${n}`, drawControls);
  model.on("change:rows", drawTable);
  model.on("change:detail", drawDetail);
  model.on("change:error", drawStatus);
}

export default { render };
