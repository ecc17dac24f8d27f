// Comparison grid front end (anywidget). Holds one page; every change goes back to Python, which
// sends rows with their numbers already formatted (grid_model.py). Colours are CSS variables of
// the JupyterLab theme (grid.css), so light and dark themes both read.
const esc = (s) =>
  String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const SORTS = ["row", "pass", "score", "tokens", "latency", "cost", "distinct", "errors"];
const PAGE_SIZES = [10, 25, 50, 100, 200];
const STATES = {
  pass: ["✓", "pass"],
  mixed: ["◐", "some repeats pass"],
  fail: ["✗", "fail"],
  error: ["!", "call failed"],
  notrun: ["○", "not run"],
  none: ["–", "unscored"],
};
const GRADES = ["", "up", "down", "A", "B", "C", "D", "F"];

function h(tag, attrs = {}, html = "") {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.innerHTML = html;
  return e;
}

// Markdown, enough for model answers: fenced code, headings, lists, quotes, emphasis, code spans.
// Everything is escaped first; links show as text with their address.
function markdown(src) {
  const inline = (s) =>
    esc(s)
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
      .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, "$1 <span class=\"wb-url\">($2)</span>");
  const out = [];
  let list = null;
  let code = null;
  const close = () => {
    if (list) out.push(`</${list}>`);
    list = null;
  };
  for (const line of String(src ?? "").split("\n")) {
    if (code !== null) {
      if (/^\s*```/.test(line)) {
        out.push(`<pre class="wb-mono">${esc(code.join("\n"))}</pre>`);
        code = null;
      } else code.push(line);
      continue;
    }
    let m;
    if (/^\s*```/.test(line)) {
      close();
      code = [];
    } else if ((m = line.match(/^(#{1,6})\s+(.*)$/))) {
      close();
      out.push(`<div class="wb-md-h">${inline(m[2])}</div>`);
    } else if ((m = line.match(/^\s*([-*+]|\d+[.)])\s+(.*)$/))) {
      const kind = /\d/.test(m[1]) ? "ol" : "ul";
      if (list !== kind) {
        close();
        out.push(`<${kind}>`);
        list = kind;
      }
      out.push(`<li>${inline(m[2])}</li>`);
    } else if ((m = line.match(/^>\s?(.*)$/))) {
      close();
      out.push(`<blockquote>${inline(m[1])}</blockquote>`);
    } else if (!line.trim()) {
      close();
    } else {
      close();
      out.push(`<p>${inline(line)}</p>`);
    }
  }
  close();
  if (code !== null) out.push(`<pre class="wb-mono">${esc(code.join("\n"))}</pre>`);
  return out.join("");
}

function chat(turns, cls = "") {
  return (
    `<div class="wb-chat ${cls}">` +
    turns
      .map((t) => `<div class="wb-bubble wb-role-${esc(t.role)}"><span class="wb-role">${esc(t.role)}</span>${esc(t.content)}</div>`)
      .join("") +
    "</div>"
  );
}

// An answer as the chosen view shows it: text, Markdown or indented JSON (monospace).
function answer(text, pretty, kind, mode) {
  if (mode === "json" && pretty) return `<pre class="wb-mono">${esc(pretty)}</pre>`;
  if (mode === "markdown" && kind !== "json") return `<div class="wb-md">${markdown(text)}</div>`;
  return `<div class="${kind === "json" ? "wb-mono " : ""}wb-plain">${esc(text)}</div>`;
}

function searchPattern(filters) {
  const text = filters.regex ? filters.search || "" : (filters.search || "").trim();
  if (!text) return null;
  try {
    return new RegExp(filters.regex ? text : text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gi");
  } catch {
    return null; // Python says why in the status line
  }
}

// Wrap what the search matches in <mark>, in the text of `node` only (never in markup).
function highlight(node, pattern) {
  if (!pattern) return;
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  const hits = [];
  for (let t = walker.nextNode(); t; t = walker.nextNode()) hits.push(t);
  for (const t of hits) {
    const s = t.textContent;
    pattern.lastIndex = 0;
    if (!pattern.test(s)) continue;
    pattern.lastIndex = 0;
    const frag = document.createDocumentFragment();
    let at = 0;
    for (let m = pattern.exec(s); m; m = pattern.exec(s)) {
      if (!m[0].length) {
        pattern.lastIndex++;
        continue;
      }
      frag.append(s.slice(at, m.index), h("mark", { class: "wb-hit" }, esc(m[0])));
      at = m.index + m[0].length;
    }
    frag.append(s.slice(at));
    t.replaceWith(frag);
  }
}

function render({ model, el }) {
  const FLAGS = model.get("flags"); // [name, label, what it keeps], from Python's Filters
  const root = h("div", { class: "wb-grid" });
  el.appendChild(root);
  const set = (name, value) => {
    model.set(name, value);
    model.save_changes();
  };
  const filters = () => model.get("filters") || {};
  const setFilters = (changes) => {
    const next = { ...filters(), ...changes };
    for (const k of Object.keys(next)) if (next[k] === false || next[k] === "" || next[k] === null) delete next[k];
    set("filters", next);
  };
  let nonce = 0;
  const grade = (row_id, variant, label, comment, repeats = null) =>
    set("label", { row_id, variant, label, comment, repeats, nonce: ++nonce });

  const header = h("div", { class: "wb-summary" });
  const controls = h("div", { class: "wb-controls", role: "toolbar", "aria-label": "Grid filters and view" });
  const chips = h("div", { class: "wb-chips", "aria-live": "polite" });
  const status = h("div", { class: "wb-status", role: "alert" });
  const scroller = h("div", { class: "wb-table" });
  const detail = h("dialog", { class: "wb-detail", "aria-labelledby": "" });
  root.append(header, controls, chips, status, scroller);

  // -- header: statistics per variant -------------------------------------------------------
  function drawHeader() {
    const scorers = model.get("scorers");
    let html = `<div class="wb-title">${esc(model.get("title"))}</div>`;
    html += `<table class="wb-stats"><thead><tr><th scope="col">variant</th><th scope="col">model</th>`;
    for (const s of scorers) html += `<th scope="col">${esc(s)}: pass rate <span class="wb-ci">(95% CI)</span></th>`;
    html += `<th scope="col">cost</th><th scope="col">latency p50</th><th scope="col">errors</th><th scope="col">not run</th></tr></thead><tbody>`;
    for (const r of model.get("header")) {
      html += `<tr><th scope="row">${esc(r.variant)}</th><td>${esc(r.model)}</td>`;
      for (const s of scorers) {
        const c = (r.checks || {})[s] || {};
        html += `<td>${esc(c.rate)} <span class="wb-ci">${c.ci ? `[${esc(c.ci)}]` : ""}</span></td>`;
      }
      html += `<td>${esc(r.cost)}</td><td>${esc(r.latency)}</td><td>${r.errors}</td><td>${r.not_run}</td></tr>`;
    }
    html += "</tbody></table>";
    if (!model.get("summary_ready")) html += `<div class="wb-verdict">computing statistics…</div>`;
    if (model.get("verdict")) html += `<div class="wb-verdict">${esc(model.get("verdict"))}</div>`;
    header.innerHTML = html;
  }

  // -- controls: built once, values synced (a redraw would take the focus from the search box) --
  const opts = (list, blank) =>
    (blank !== undefined ? `<option value="">${esc(blank)}</option>` : "") +
    list.map((x) => `<option value="${esc(x)}">${esc(x)}</option>`).join("");
  controls.innerHTML = `
    <div class="wb-bar">
      <input type="search" class="wb-f-search" placeholder="search (/)" aria-label="Search inputs and outputs (Enter, or pause typing)" data-lm-suppress-shortcuts="true">
      <label class="wb-check"><input type="checkbox" class="wb-f-regex"> regex</label>
      <span class="wb-sep"></span>
      ${FLAGS.map(([k, label, tip]) => `<label class="wb-check" title="${esc(tip)}"><input type="checkbox" class="wb-f-${k}"> ${esc(label)}</label>`).join("")}
      <label>in <select class="wb-f-variant">${opts(model.get("variants"), "any variant")}</select></label>
      <label>checks <select class="wb-f-scorer">${opts(model.get("scorers"), "all")}</select></label>
    </div>
    <div class="wb-bar">
      <label>sort <select class="wb-s-by">${opts(SORTS)}</select></label>
      <select class="wb-s-variant" aria-label="Sort by the metric of">${opts(model.get("variants"), "mean of variants")}</select>
      <label class="wb-check"><input type="checkbox" class="wb-s-desc"> desc</label>
      <span class="wb-sep"></span>
      <label>diff vs <select class="wb-baseline">${opts(model.get("variants"), "none")}</select></label>
      <label class="wb-check"><input type="checkbox" class="wb-d-case"> ignore case</label>
      <label class="wb-check"><input type="checkbox" class="wb-d-space"> ignore spaces</label>
      <span class="wb-sep"></span>
      <label>show <select class="wb-render"><option value="text">text</option><option value="markdown">Markdown</option><option value="json">JSON</option></select></label>
      <label>inputs <select class="wb-inputs-width"><option value="wide">wide</option><option value="narrow">narrow</option><option value="hidden">hidden</option></select></label>
      <label>rows <select class="wb-page-size">${[...new Set([...PAGE_SIZES, model.get("page_size")])].sort((a, b) => a - b).map((n) => `<option value="${n}">${n}</option>`).join("")}</select></label>
      <span class="wb-pager"><button class="wb-prev wb-btn" aria-label="Previous page">‹</button>
      <span class="wb-page" aria-live="polite"></span>
      <button class="wb-next wb-btn" aria-label="Next page">›</button></span>
    </div>
    <div class="wb-bar wb-legend">colour by <select class="wb-color-by" aria-label="Colour cells by scorer">${opts(model.get("scorers"), "none")}</select>
      ${Object.entries(STATES).map(([k, [icon, label]]) => `<span class="wb-key wb-s-${k}"><span class="wb-icon">${icon}</span> ${label}</span>`).join("")}
    </div>`;
  const q = (c) => controls.querySelector(c);
  const search = q(".wb-f-search");
  let typing = null;
  const applySearch = () => {
    clearTimeout(typing);
    if ((filters().search || "") !== search.value) setFilters({ search: search.value });
  };
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(applySearch, 350);
  });
  search.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      applySearch();
    } else if (ev.key === "Escape" && search.value) {
      search.value = "";
      applySearch();
    }
  });
  search.addEventListener("change", applySearch);
  q(".wb-f-regex").onchange = () => setFilters({ regex: q(".wb-f-regex").checked, search: search.value });
  for (const [k] of FLAGS) q(`.wb-f-${k}`).onchange = (ev) => setFilters({ [k]: ev.target.checked });
  q(".wb-f-variant").onchange = () => setFilters({ variant: q(".wb-f-variant").value || null });
  q(".wb-f-scorer").onchange = () => setFilters({ scorer: q(".wb-f-scorer").value || null });
  const sorted = () => ({ by: q(".wb-s-by").value, variant: q(".wb-s-variant").value || null, desc: q(".wb-s-desc").checked });
  for (const c of [".wb-s-by", ".wb-s-variant", ".wb-s-desc"]) q(c).onchange = () => set("sort", sorted());
  q(".wb-baseline").onchange = () => set("baseline", q(".wb-baseline").value);
  const diffOpts = () => ({ ignore_case: q(".wb-d-case").checked, ignore_space: q(".wb-d-space").checked });
  q(".wb-d-case").onchange = q(".wb-d-space").onchange = () => set("diff", diffOpts());
  q(".wb-render").onchange = () => set("render_as", q(".wb-render").value);
  q(".wb-inputs-width").onchange = () => set("inputs_width", q(".wb-inputs-width").value);
  q(".wb-page-size").onchange = () => set("page_size", Number(q(".wb-page-size").value));
  q(".wb-color-by").onchange = () => set("color_by", q(".wb-color-by").value);
  const turn = (by) => {
    const page = model.get("page") + by;
    if (page >= 0 && page < model.get("pages")) {
      set("page", page);
      return true;
    }
    return false;
  };
  q(".wb-prev").onclick = () => turn(-1);
  q(".wb-next").onclick = () => turn(1);

  function syncControls() {
    const f = filters();
    const s = model.get("sort") || {};
    if (document.activeElement !== search) search.value = f.search || "";
    q(".wb-f-regex").checked = !!f.regex;
    for (const [k] of FLAGS) q(`.wb-f-${k}`).checked = !!f[k];
    q(".wb-f-variant").value = f.variant || "";
    q(".wb-f-scorer").value = f.scorer || "";
    q(".wb-s-by").value = s.by || "row";
    q(".wb-s-variant").value = s.variant || "";
    q(".wb-s-desc").checked = !!s.desc;
    q(".wb-baseline").value = model.get("baseline") || "";
    const d = model.get("diff") || {};
    q(".wb-d-case").checked = !!d.ignore_case;
    q(".wb-d-space").checked = !!d.ignore_space;
    q(".wb-render").value = model.get("render_as") || "text";
    q(".wb-inputs-width").value = model.get("inputs_width") || "wide";
    q(".wb-page-size").value = String(model.get("page_size"));
    q(".wb-color-by").value = model.get("color_by") || "";
    q(".wb-page").textContent = `page ${model.get("page") + 1} of ${model.get("pages")} · ${model.get("total")} rows`;
    q(".wb-prev").disabled = model.get("page") <= 0;
    q(".wb-next").disabled = model.get("page") + 1 >= model.get("pages");
    root.dataset.inputs = model.get("inputs_width") || "wide";
    drawChips();
  }

  // -- chips: the filters in force, each removable; cleared ones can be restored -------------
  let cleared = null;
  function drawChips() {
    const f = filters();
    const where = f.variant ? ` in ${f.variant}` : "";
    const list = [];
    for (const [k, label] of FLAGS) if (f[k]) list.push([{ [k]: false }, label + (k === "disagree" ? "" : where)]);
    if ((f.search || "").trim()) list.push([{ search: "", regex: false }, `${f.regex ? "regex" : "search"}: ${f.search}`]);
    if (f.scorer) list.push([{ scorer: null }, `checks: ${f.scorer}`]);
    if (f.variant && !FLAGS.some(([k]) => f[k])) list.push([{ variant: null }, `variant: ${f.variant}`]);
    let html = list
      .map(([, label], i) => `<span class="wb-chip">${esc(label)}<button class="wb-chip-x" data-i="${i}" aria-label="Remove filter ${esc(label)}">×</button></span>`)
      .join("");
    if (list.length > 1) html += `<button class="wb-btn wb-clear">clear all</button>`;
    if (!list.length && cleared) html += `<button class="wb-btn wb-restore">restore filters</button>`;
    chips.innerHTML = html;
    chips.style.display = html ? "" : "none";
    for (const b of chips.querySelectorAll(".wb-chip-x"))
      b.onclick = () => {
        if (list.length === 1) cleared = { ...f };
        setFilters(list[Number(b.dataset.i)][0]);
      };
    const clear = chips.querySelector(".wb-clear");
    if (clear)
      clear.onclick = () => {
        cleared = { ...f };
        set("filters", {});
      };
    const restore = chips.querySelector(".wb-restore");
    if (restore)
      restore.onclick = () => {
        const back = cleared;
        cleared = null;
        set("filters", back);
      };
  }

  // -- the table ----------------------------------------------------------------------------
  const stateOf = (c) => {
    if (c.status !== "ok") return c.status === "missing" ? "none" : c.status;
    const s = model.get("color_by");
    return s && c.checks[s] ? c.checks[s].state : "none";
  };

  function cellHtml(row, c, ri, ci) {
    const at = `data-r="${ri}" data-c="${ci}" role="gridcell" tabindex="-1"`;
    if (c.status === "missing") return `<td class="wb-cell wb-s-none" ${at}><div class="wb-note">no such cell</div></td>`;
    const state = stateOf(c);
    const mode = model.get("render_as");
    let body;
    if (c.status === "notrun") body = `<div class="wb-note">○ not run${c.error ? ` — ${esc(c.error.replace(/^not run:\s*/, ""))}` : ""}</div>`;
    else if (c.status === "error") body = `<div class="wb-err">! call failed: ${esc(c.error)}</div>`;
    else if (c.diff != null) body = `<div class="wb-output ${c.kind === "json" ? "wb-mono " : ""}wb-plain wb-diffed">${c.diff}</div>`;
    else body = `<div class="wb-output">${answer(c.output, c.pretty, c.kind, mode)}</div>`;
    // The tool calls show as lines under the answer (a diff already holds them).
    if (c.diff == null) body += (c.tool_calls || []).map((t) => `<div class="wb-tool${c.tools_invalid ? " wb-err" : ""}">→ ${esc(t)}</div>`).join("");
    if (c.tools_mode) body += `<div class="wb-reps">${esc(c.tools_mode)}</div>`;
    if (c.status === "ok" && c.errors) body += `<div class="wb-err">! ${c.errors} of ${c.n} calls failed</div>`;
    if (c.status === "ok" && c.not_run) body += `<div class="wb-note">○ ${c.not_run} of ${c.n} not run</div>`;
    if (c.starved) body += `<div class="wb-err" title="finish_reason length with no text: raise max_tokens">! ${c.starved} empty: reasoning used the output budget</div>`;
    const why = Object.entries(c.checks)
      .filter(([, x]) => x.reason && c.status === "ok")
      .map(([s, x]) => `<div class="wb-why"><b>${esc(s)}</b>: ${esc(x.reason)}</div>`)
      .join("");
    const alts = c.outputs
      ? `<details class="wb-alts"><summary>${c.distinct} distinct answers of ${c.n - c.errors - c.not_run}</summary>${c.outputs
          .map((o) => `<div class="wb-alt"><span class="wb-count">${o.count} ×</span> ${esc(o.text)}</div>`)
          .join("")}</details>`
      : "";
    const reps = c.n > 1 && c.status === "ok" && !c.outputs ? `<span class="wb-reps" title="${c.n} repeats gave the same answer">${c.n} × same</span>` : "";
    const badges =
      c.status === "ok"
        ? Object.entries(c.checks)
            .map(([s, x]) => {
              const [icon, label] = STATES[x.state];
              const score = x.score !== undefined ? ` ${esc(x.score)}` : "";
              return `<span class="wb-badge wb-s-${x.state}" title="${esc(s)}: ${label}, ${x.k} of ${x.n} repeats passed"><span class="wb-icon">${icon}</span> ${esc(s)}${score} ${x.k}/${x.n}</span>`;
            })
            .join("")
        : "";
    const up = c.label === "up";
    const down = c.label === "down";
    const gradeHtml =
      c.status === "notrun"
        ? ""
        : `<span class="wb-grade"><button class="wb-up${up ? " wb-on" : ""}" aria-pressed="${up}" aria-label="Mark good (+)" title="good (+)">▲</button><button class="wb-down${down ? " wb-on" : ""}" aria-pressed="${down}" aria-label="Mark bad (-)" title="bad (-)">▼</button></span>`;
    const label = c.label && !up && !down ? `<span class="wb-label">${esc(c.label)}</span>` : "";
    return `<td class="wb-cell wb-s-${state}" ${at} data-row="${esc(JSON.stringify(row.row_id))}" data-variant="${esc(c.variant)}" data-state="${state}">
      ${body}${why}${alts}
      <div class="wb-foot">${badges}<span class="wb-meta">${esc(c.meta)}</span>${reps}${gradeHtml}${label}
      ${c.comment ? `<span class="wb-comment">“${esc(c.comment)}”</span>` : ""}</div></td>`;
  }

  function inputHtml(value) {
    if (value && value.chat) return chat(value.chat, "wb-chat-small");
    const text = String(value ?? "");
    const long = text.length > 160 || text.split("\n").length > 3;
    return `<span class="wb-in-value${long ? " wb-clamped" : ""}">${esc(text)}</span>${long ? `<button class="wb-more wb-link" aria-expanded="false">more</button>` : ""}`;
  }

  let active = { r: 0, c: 0 };
  let pendingFocus = null;
  function drawTable() {
    const inputs = model.get("inputs");
    const variants = model.get("variants");
    const rows = model.get("rows");
    const hadFocus = scroller.contains(document.activeElement);
    let html = `<table role="grid" aria-label="Comparison grid: ${model.get("total")} rows × ${variants.length} variants" aria-rowcount="${model.get("total") + 1}"><thead><tr role="row">`;
    html += `<th role="columnheader" class="wb-inputs-head">row · inputs</th>`;
    for (const v of variants) html += `<th role="columnheader">${esc(v)}${v === model.get("baseline") ? ` <span class="wb-tag">baseline</span>` : ""}</th>`;
    html += "</tr></thead><tbody>";
    const first = model.get("page") * model.get("page_size");
    rows.forEach((row, ri) => {
      const ins = inputs
        .filter((c) => row.inputs[c] !== "" && row.inputs[c] !== null && row.inputs[c] !== undefined)
        .map((c) => `<div class="wb-in"><span class="wb-in-name">${esc(c)}</span> ${inputHtml(row.inputs[c])}</div>`)
        .join("");
      html += `<tr class="wb-row" role="row" aria-rowindex="${first + ri + 2}"><th scope="row" class="wb-inputs"><div class="wb-rowid">${esc(row.row_id)}</div>${ins}</th>`;
      html += row.cells.map((c, ci) => cellHtml(row, c, ri, ci)).join("") + "</tr>";
    });
    if (!rows.length) html += `<tr><td class="wb-empty" colspan="${variants.length + 1}">No rows match the filters.</td></tr>`;
    scroller.innerHTML = html + "</tbody></table>";
    highlight(scroller.querySelector("tbody"), searchPattern(filters()));
    active = { r: Math.min(active.r, Math.max(rows.length - 1, 0)), c: Math.min(active.c, variants.length - 1) };
    if (pendingFocus !== null) {
      active.r = pendingFocus === "last" ? rows.length - 1 : 0;
      pendingFocus = null;
      focusCell(true);
    } else focusCell(hadFocus);
  }

  const cellAt = (r, c) => scroller.querySelector(`td.wb-cell[data-r="${r}"][data-c="${c}"]`);
  function focusCell(take) {
    for (const td of scroller.querySelectorAll('td.wb-cell[tabindex="0"]')) td.tabIndex = -1;
    const td = cellAt(active.r, active.c);
    if (!td) return;
    td.tabIndex = 0;
    if (take) {
      td.focus({ preventScroll: true });
      td.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }
  const cellData = (r, c) => {
    const row = model.get("rows")[r];
    return row ? [row, row.cells[c]] : [null, null];
  };
  function open(r, c) {
    const [row, cell] = cellData(r, c);
    if (!row || !cell || cell.status === "missing") return;
    active = { r, c };
    focusCell(false);
    set("selected", { row_id: row.row_id, variant: cell.variant });
  }
  function gradeCell(r, c, wanted) {
    const [row, cell] = cellData(r, c);
    if (!row || !cell || cell.status === "missing" || cell.status === "notrun") return;
    const on = cell.label === wanted;
    grade(row.row_id, cell.variant, on ? "" : wanted, on ? "" : cell.comment || "");
  }
  // Moves the active cell; past the page's last (first) row, turns the page.
  function move(dr, dc) {
    const rows = model.get("rows").length;
    const cols = model.get("variants").length;
    const r = active.r + dr;
    if (r >= rows && dr > 0) {
      if (turn(1)) pendingFocus = "first";
      return;
    }
    if (r < 0 && dr < 0) {
      if (turn(-1)) pendingFocus = "last";
      return;
    }
    active = { r: Math.max(0, Math.min(rows - 1, r)), c: Math.max(0, Math.min(cols - 1, active.c + dc)) };
    focusCell(true);
  }

  scroller.addEventListener("click", (ev) => {
    const more = ev.target.closest(".wb-more");
    if (more) {
      const value = more.previousElementSibling;
      const open_ = value.classList.toggle("wb-clamped") === false;
      more.textContent = open_ ? "less" : "more";
      more.setAttribute("aria-expanded", String(open_));
      return;
    }
    const td = ev.target.closest("td.wb-cell[data-variant]");
    if (!td || ev.target.closest("summary, .wb-alt")) return;
    const r = Number(td.dataset.r);
    const c = Number(td.dataset.c);
    active = { r, c };
    focusCell(true);
    if (ev.target.closest(".wb-up, .wb-down")) {
      gradeCell(r, c, ev.target.closest(".wb-up") ? "up" : "down");
      return;
    }
    open(r, c);
  });

  // Keys: typing in the grid never reaches the notebook's shortcuts (only Ctrl/Cmd/Alt combos do).
  root.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    ev.stopPropagation();
    const typing = ev.target.closest("input, select, textarea");
    if (typing || detail.open) return;
    const td = ev.target.closest("td.wb-cell");
    if (ev.key === "/") {
      ev.preventDefault();
      search.focus();
      search.select();
      return;
    }
    if (!td) return;
    const keys = {
      ArrowDown: () => move(1, 0),
      j: () => move(1, 0),
      ArrowUp: () => move(-1, 0),
      k: () => move(-1, 0),
      ArrowRight: () => move(0, 1),
      l: () => move(0, 1),
      ArrowLeft: () => move(0, -1),
      h: () => move(0, -1),
      PageDown: () => turn(1) && (pendingFocus = "first"),
      PageUp: () => turn(-1) && (pendingFocus = "first"),
      Enter: () => open(active.r, active.c),
      " ": () => open(active.r, active.c),
      "+": () => gradeCell(active.r, active.c, "up"),
      "=": () => gradeCell(active.r, active.c, "up"),
      "-": () => gradeCell(active.r, active.c, "down"),
    };
    if (keys[ev.key]) {
      ev.preventDefault();
      keys[ev.key]();
    }
  });
  root.addEventListener("keyup", (ev) => ev.ctrlKey || ev.metaKey || ev.altKey || ev.stopPropagation());
  scroller.addEventListener("focusin", (ev) => {
    const td = ev.target.closest("td.wb-cell");
    if (td) active = { r: Number(td.dataset.r), c: Number(td.dataset.c) };
  });

  // -- the detail: a dialog on the right of the screen, over the notebook --------------------
  const closeDetail = () => {
    if (!detail.open) return;
    detail.close();
    focusCell(true); // back on the cell the detail showed last
  };
  detail.addEventListener("close", () => {
    if (model.get("selected") && Object.keys(model.get("selected")).length) set("selected", {});
  });
  // A click outside the detail closes it; a click on another cell shows that cell instead.
  const closeOutside = (ev) => {
    if (detail.open && !detail.contains(ev.target) && !scroller.contains(ev.target)) closeDetail();
  };
  document.addEventListener("pointerdown", closeOutside);
  detail.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    ev.stopPropagation();
    if (ev.key === "Escape") {
      ev.preventDefault();
      closeDetail();
      return;
    }
    if (ev.target.closest("input, select, textarea")) return;
    const by = { ArrowDown: [1, 0], j: [1, 0], ArrowUp: [-1, 0], k: [-1, 0], ArrowRight: [0, 1], l: [0, 1], ArrowLeft: [0, -1], h: [0, -1] }[ev.key];
    if (by) {
      ev.preventDefault();
      step(by[0], by[1]);
    }
  });
  function step(dr, dc) {
    const rows = model.get("rows").length;
    const cols = model.get("variants").length;
    const r = Math.max(0, Math.min(rows - 1, active.r + dr));
    const c = Math.max(0, Math.min(cols - 1, active.c + dc));
    if (r !== active.r || c !== active.c) open(r, c);
  }

  function groupHtml(d, g, gi) {
    const mode = model.get("render_as");
    const reps = g.repeats.length > 1 ? `repeats ${g.repeats.join(", ")}` : `repeat ${g.repeats[0]}`;
    const body = g.error
      ? `<div class="${g.not_run ? "wb-note" : "wb-err"}">${g.not_run ? "○" : "!"} ${esc(g.error)}</div>`
      : answer(g.output, g.pretty, g.kind, mode);
    const calls = (g.tool_calls || []).map((t) => `<div class="wb-tool wb-mono">→ ${esc(t)}</div>`).join("");
    const scores = g.scores
      .map((s) => {
        const state = s.n === 0 ? "none" : s.passed === s.n ? "pass" : s.passed === 0 ? "fail" : "mixed";
        const [icon, label] = STATES[state];
        const reasons = s.reasons
          .map((x) => `<div class="wb-reason">${esc(x.text)}${g.count > 1 && s.reasons.length > 1 ? ` <span class="wb-reps">(repeat ${x.repeats.join(", ")})</span>` : ""}</div>`)
          .join("");
        return `<li class="wb-s-${state}"><span class="wb-icon" aria-label="${label}">${icon}</span> <b>${esc(s.scorer)}</b> ${s.value ? esc(s.value) + " · " : ""}${s.n ? `${s.passed}/${s.n} passed` : "unscored"}${reasons}</li>`;
      })
      .join("");
    const runs = g.runs
      .map((run) => {
        const extra = Object.entries(run.extra || {})
          .map(([k, v]) => `<div class="wb-extra"><span class="wb-in-name">${esc(k)}</span><pre class="wb-mono">${esc(typeof v === "string" ? v : JSON.stringify(v, null, 2))}</pre></div>`)
          .join("");
        const json = (v) => esc(JSON.stringify(v, null, 2));
        return `<details class="wb-run"><summary>repeat ${run.repeat}${run.cached ? " · cached" : ""} · ${esc(run.usage)}${run.finish_reason ? ` · ${esc(run.finish_reason)}` : ""}</summary>
          ${run.starved ? `<div class="wb-err">! empty: reasoning used the whole output budget (finish_reason length): raise max_tokens</div>` : ""}
          ${run.reasoning ? `<div class="wb-sub">reasoning</div><pre class="wb-mono wb-raw">${esc(run.reasoning)}</pre>` : ""}
          ${run.tool_calls && run.tool_calls.length ? `<div class="wb-sub">tool calls</div><pre class="wb-mono wb-raw">${json(run.tool_calls)}</pre>` : ""}
          ${run.trajectory ? `<div class="wb-sub">trajectory (${run.trajectory.length} turns)</div><pre class="wb-mono wb-raw">${json(run.trajectory)}</pre>` : ""}
          ${extra ? `<div class="wb-extras"><div class="wb-sub">more fields</div>${extra}</div>` : ""}
          <div class="wb-sub">raw response</div><pre class="wb-mono wb-raw">${esc(run.raw === null || run.raw === undefined ? "(not in the store)" : JSON.stringify(run.raw, null, 2))}</pre></details>`;
      })
      .join("");
    return `<section class="wb-repeat" data-g="${gi}" tabindex="-1" aria-label="${g.count} × ${esc(reps)}">
      <div class="wb-group-head"><span class="wb-count">${g.count} ×</span> <span class="wb-reps">${esc(reps)}</span></div>
      <div class="wb-answer">${body}${calls}</div>
      <ul class="wb-scores">${scores}</ul>
      <div class="wb-grade-detail">
        <label>grade <select class="wb-grade-select" data-lm-suppress-shortcuts="true">${GRADES.map((x) => `<option value="${x}"${x === g.label ? " selected" : ""}>${x || "—"}</option>`).join("")}</select></label>
        <input class="wb-grade-comment" placeholder="comment, Enter saves" aria-label="Comment on ${esc(reps)} (Enter saves)" value="${esc(g.comment)}" data-lm-suppress-shortcuts="true">
        <button class="wb-btn wb-grade-save">save</button><span class="wb-saved" aria-live="polite"></span></div>
      ${runs}</section>`;
  }

  let shownKey = "";
  let gradedGroup = null;
  function drawDetail() {
    const d = model.get("detail");
    if (!d || !d.groups) {
      shownKey = "";
      closeDetail();
      return;
    }
    const key = JSON.stringify([d.row_id, d.variant]);
    const keepScroll = key === shownKey ? detail.querySelector(".wb-detail-body")?.scrollTop || 0 : 0;
    shownKey = key;
    const inputs = Object.entries(d.inputs)
      .map(([k, v]) => `<div class="wb-in"><span class="wb-in-name">${esc(k)}</span> ${v && v.chat ? chat(v.chat) : `<span class="wb-in-text">${esc(v)}</span>`}</div>`)
      .join("");
    const distinct = d.groups.length;
    detail.setAttribute("aria-labelledby", "wb-detail-title-" + nonce);
    detail.innerHTML = `<div class="wb-detail-head">
        <div id="wb-detail-title-${nonce}" class="wb-detail-title">row ${esc(d.row_id)} · ${esc(d.variant)} <span class="wb-model">${esc(d.model)}</span></div>
        <span class="wb-hint">←/→ variant · ↑/↓ row · Esc closes</span>
        <button class="wb-btn wb-close" aria-label="Close the detail (Esc)">close ×</button></div>
      <div class="wb-detail-body">
        <h4>inputs</h4>${inputs}
        <h4>request</h4>${chat(d.messages)}
        <h4>${d.repeats > 1 ? `${d.repeats} repeats, ${distinct} distinct answer${distinct > 1 ? "s" : ""}` : "answer"}</h4>
        <div class="wb-groups" style="--wb-cols:${Math.min(distinct, 3)}">${d.groups.map((g, gi) => groupHtml(d, g, gi)).join("")}</div>
      </div>`;
    detail.querySelector(".wb-close").onclick = closeDetail;
    for (const box of detail.querySelectorAll(".wb-repeat")) {
      const g = d.groups[Number(box.dataset.g)];
      const save = () => {
        gradedGroup = Number(box.dataset.g);
        grade(d.row_id, d.variant, box.querySelector(".wb-grade-select").value, box.querySelector(".wb-grade-comment").value, g.repeats);
        for (const s of detail.querySelectorAll(".wb-saved")) s.textContent = "";
        box.querySelector(".wb-saved").textContent = "saving…";
      };
      box.querySelector(".wb-grade-save").onclick = save;
      box.querySelector(".wb-grade-select").onchange = save;
      box.querySelector(".wb-grade-comment").addEventListener("keydown", (ev) => {
        if (ev.key === "Enter") {
          ev.preventDefault();
          save();
        }
      });
    }
    highlight(detail.querySelector(".wb-detail-body"), searchPattern(filters()));
    if (!detail.open) {
      // In <body>, where JupyterLab's containers cannot move a fixed panel; and not
      // showModal(): making the whole of JupyterLab inert cost ~80 ms a click (bench_grid).
      if (detail.parentElement !== document.body) document.body.append(detail);
      detail.show();
      detail.querySelector(".wb-close").focus();
    } else {
      // After a save the redraw took the focus: give it to the graded group, so arrows move on.
      const graded = gradedGroup === null ? null : detail.querySelector(`.wb-repeat[data-g="${gradedGroup}"]`);
      if (graded) graded.querySelector(".wb-saved").textContent = "saving…";
      if (graded || !detail.contains(document.activeElement)) (graded || detail.querySelector(".wb-close")).focus({ preventScroll: true });
    }
    detail.querySelector(".wb-detail-body").scrollTop = keepScroll;
  }
  model.on("change:saved", () => {
    for (const s of detail.querySelectorAll(".wb-saved")) if (s.textContent) s.textContent = "saved";
    gradedGroup = null;
  });

  const drawStatus = () => {
    status.textContent = model.get("error");
    status.style.display = model.get("error") ? "" : "none";
  };
  drawHeader();
  syncControls();
  drawTable();
  drawDetail();
  drawStatus();
  for (const n of ["header", "verdict", "summary_ready"]) model.on(`change:${n}`, drawHeader);
  for (const n of ["page", "pages", "total", "filters", "sort", "baseline", "diff", "render_as", "inputs_width", "page_size", "color_by"])
    model.on(`change:${n}`, syncControls);
  for (const n of ["rows", "color_by", "render_as"]) model.on(`change:${n}`, drawTable);
  model.on("change:detail", drawDetail);
  model.on("change:render_as", drawDetail);
  model.on("change:error", drawStatus);
  return () => {
    document.removeEventListener("pointerdown", closeOutside);
    closeDetail();
    detail.remove();
  };
}

export default { render };
