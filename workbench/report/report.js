// The report's comparison grid: plain JavaScript over the data embedded in the page, no network.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("wb-data").textContent);
  const S = D.scorers, V = D.variants;
  const R = { out: 0, err: 1, tin: 2, tout: 3, lat: 4, cost: 5, cached: 6, label: 7, comment: 8, sc: 9 };
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const text = (v) => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
  const cut = (s, n) => (s.length > n ? s.slice(0, n) + "…" : s);
  const num = (v, d) => (v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(d));
  const SYMBOL = { pass: "✓", fail: "✗", mixed: "½", none: "–" };

  // Per cell, computed once: checks per scorer, metrics for sorting, the text searched.
  function summarise(cell) {
    if (!cell) return null;
    const reps = cell.r;
    const checks = S.map((_, i) => {
      let k = 0, n = 0, sum = 0, vals = 0;
      for (const r of reps) {
        const passed = r[R.sc + 3 * i + 1], value = r[R.sc + 3 * i];
        if (passed !== null && passed !== undefined) { n++; if (passed) k++; }
        if (typeof value === "number") { sum += value; vals++; }
      }
      const state = n === 0 ? "none" : k === n ? "pass" : k === 0 ? "fail" : "mixed";
      return { k, n, state, score: vals ? sum / vals : NaN };
    });
    const mean = (f) => { let s = 0, c = 0; for (const r of reps) { const v = f(r); if (typeof v === "number") { s += v; c++; } } return c ? s / c : NaN; };
    const errors = reps.filter((r) => r[R.err] !== null && r[R.err] !== undefined).length;
    const outs = new Set(reps.map((r) => r[R.out]));
    return {
      checks, errors, n: reps.length, distinct: outs.size,
      tokens: mean((r) => (r[R.tin] ?? NaN) + (r[R.tout] ?? NaN)),
      latency: mean((r) => r[R.lat]), cost: reps.reduce((s, r) => s + (r[R.cost] || 0), 0),
      label: reps.map((r) => r[R.label]).find((x) => x) || "",
    };
  }
  const rows = D.rows.map((row, pos) => {
    const sums = row.c.map(summarise);
    const hay = [row.id, ...row.in.map(text), ...row.c.flatMap((c) => (c ? c.r.map((r) => text(r[R.out])) : []))].join(" ").toLowerCase();
    return { row, pos, sums, hay };
  });

  const state = { failures: false, disagree: false, search: "", scorer: "", sort: "row", variant: "", desc: false, baseline: "", page: 0, size: 25, open: null };
  const grid = document.getElementById("grid");
  const opts = (list, blank) => (blank !== undefined ? `<option value="">${esc(blank)}</option>` : "") + list.map((x) => `<option value="${esc(x)}">${esc(x)}</option>`).join("");
  grid.innerHTML = `
    <div class="controls">
      <input type="search" id="q" placeholder="search inputs and outputs" aria-label="search">
      <label><input type="checkbox" id="failures"> only failures</label>
      <label><input type="checkbox" id="disagree"> only rows where variants disagree</label>
      <label>scorer <select id="scorer">${opts(S, "all")}</select></label>
      <label>sort by <select id="sort">${opts(["row", "pass", "score", "tokens", "latency", "cost", "distinct", "errors"])}</select></label>
      <label>of <select id="variant">${opts(V, "mean of variants")}</select></label>
      <label><input type="checkbox" id="desc"> descending</label>
      <label>diff against <select id="baseline">${opts(V, "none")}</select></label>
      <label>rows per page <select id="size">${opts(["25", "50", "100", "250"])}</select></label>
    </div>
    <div class="pager"><button id="prev">◀ previous</button><span id="where"></span><button id="next">next ▶</button></div>
    <div class="wrap"><table class="grid"><thead></thead><tbody></tbody></table></div>
    <div id="detail" hidden></div>`;
  const $ = (id) => document.getElementById(id);

  function checksOf(sums) {
    return state.scorer ? [S.indexOf(state.scorer)] : S.map((_, i) => i);
  }
  function verdicts(r, i) {
    return r.sums.filter((s) => s && s.checks[i].n > 0).map((s) => 2 * s.checks[i].k > s.checks[i].n);
  }
  function keep(r) {
    const idx = checksOf();
    if (state.failures && !r.sums.some((s) => s && (s.errors > 0 || idx.some((i) => s.checks[i].k < s.checks[i].n)))) return false;
    if (state.disagree && !idx.some((i) => new Set(verdicts(r, i)).size > 1)) return false;
    if (state.search && !r.hay.includes(state.search.toLowerCase())) return false;
    return true;
  }
  function metric(s) {
    if (!s) return NaN;
    const i = state.scorer ? S.indexOf(state.scorer) : 0;
    if (state.sort === "pass") return S.length && s.checks[i].n ? s.checks[i].k / s.checks[i].n : NaN;
    if (state.sort === "score") return S.length ? s.checks[i].score : NaN;
    return s[state.sort];
  }
  function sortKey(r) {
    if (state.variant) return metric(r.sums[V.indexOf(state.variant)]);
    const vals = r.sums.map(metric).filter((v) => !Number.isNaN(v));
    return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : NaN;
  }
  function selected() {
    let list = rows.filter(keep);
    if (state.sort === "row") return state.desc ? list.reverse() : list;
    const keyed = list.map((r) => [sortKey(r), r]);
    const known = keyed.filter(([k]) => !Number.isNaN(k)), unknown = keyed.filter(([k]) => Number.isNaN(k));
    known.sort((a, b) => (state.desc ? b[0] - a[0] : a[0] - b[0]) || a[1].pos - b[1].pos);
    return [...known, ...unknown].map(([, r]) => r);
  }

  // Word diff (longest common subsequence of words with their spaces).
  function diff(base, other) {
    const a = base.match(/\s*\S+\s*|\s+/g) || [], b = other.match(/\s*\S+\s*|\s+/g) || [];
    if (a.length * b.length > 250000) return esc(other);
    const m = a.length, n = b.length, L = Array.from({ length: m + 1 }, () => new Uint16Array(n + 1));
    for (let i = m - 1; i >= 0; i--) for (let j = n - 1; j >= 0; j--) L[i][j] = a[i] === b[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    let i = 0, j = 0, out = "";
    while (i < m && j < n) {
      if (a[i] === b[j]) { out += esc(b[j]); i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) out += `<del>${esc(a[i++])}</del>`;
      else out += `<ins>${esc(b[j++])}</ins>`;
    }
    while (i < m) out += `<del>${esc(a[i++])}</del>`;
    while (j < n) out += `<ins>${esc(b[j++])}</ins>`;
    return out;
  }

  function cellHtml(r, j) {
    const cell = r.row.c[j], s = r.sums[j];
    if (!cell) return `<td class="cell none">–</td>`;
    const worst = s.errors ? "fail" : ["fail", "mixed", "pass"].find((st) => s.checks.some((c) => c.state === st)) || "none";
    const first = cell.r[0], out = text(first[R.out]);
    const b = state.baseline ? V.indexOf(state.baseline) : -1;
    let shown = first[R.err] ? `<span class="err">error: ${esc(cut(text(first[R.err]), 300))}</span>` : esc(cut(out, 400));
    if (b >= 0 && b !== j && r.row.c[b] && !first[R.err]) shown = diff(cut(text(r.row.c[b].r[0][R.out]), 400), cut(out, 400));
    const checks = S.map((name, i) => `${SYMBOL[s.checks[i].state]} ${esc(name)} ${s.checks[i].k}/${s.checks[i].n}`).join(" · ");
    const reps = s.n > 1 ? ` · ${s.n} repeats, ${s.distinct} distinct` : "";
    return `<td class="cell ${worst}" tabindex="0" data-row="${r.pos}" data-variant="${j}">
      <div class="out">${shown}</div><div class="checks">${checks}</div>
      <div class="meta">${num(s.tokens, 0)} tokens · ${num(s.latency, 0)} ms · $${num(s.cost, 5)}${reps}${s.label ? " · graded " + esc(s.label) : ""}</div></td>`;
  }

  function draw() {
    const list = selected();
    const pages = Math.max(1, Math.ceil(list.length / state.size));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * state.size, page = list.slice(start, start + state.size);
    grid.querySelector("thead").innerHTML = `<tr><th>row</th>${D.inputs.length ? "<th>inputs</th>" : ""}${V.map((v) => `<th>${esc(v)}</th>`).join("")}</tr>`;
    grid.querySelector("tbody").innerHTML = page.map((r) => {
      const inputs = D.inputs.map((c, i) => `<div><b>${esc(c)}</b> ${esc(cut(text(r.row.in[i]), 200))}</div>`).join("");
      return `<tr class="row"><td class="rowid">${esc(r.row.id)}</td>${D.inputs.length ? `<td class="inputs">${inputs}</td>` : ""}${V.map((_, j) => cellHtml(r, j)).join("")}</tr>`;
    }).join("");
    $("where").textContent = list.length ? `rows ${start + 1}–${start + page.length} of ${list.length} (page ${state.page + 1} of ${pages})` : `0 of ${rows.length} rows match`;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
  }

  function detail(pos, j) {
    const r = rows[pos], cell = r.row.c[j], box = $("detail");
    const msgs = cell.m.map(([role, k]) => `<div><b>${esc(role)}</b><pre>${esc(D.strings[k])}</pre></div>`).join("");
    const inputs = D.inputs.map((c, i) => `<tr><th>${esc(c)}</th><td><pre>${esc(text(r.row.in[i]))}</pre></td></tr>`).join("");
    const reps = cell.r.map((rep, n) => {
      const scores = S.map((name, i) => {
        const passed = rep[R.sc + 3 * i + 1];
        const cls = passed === true ? "pass" : passed === false ? "fail" : "";
        return `<li class="${cls}">${esc(name)}: ${passed === true ? "✓ pass" : passed === false ? "✗ fail" : "– unscored"} (value ${esc(text(rep[R.sc + 3 * i]))}) ${esc(text(rep[R.sc + 3 * i + 2]))}</li>`;
      }).join("");
      const label = rep[R.label] ? `<div>graded <b>${esc(rep[R.label])}</b> ${esc(rep[R.comment] || "")}</div>` : "";
      return `<div class="repeat"><b>repeat ${n + 1}</b> · ${esc(text(rep[R.tin]))} in / ${esc(text(rep[R.tout]))} out tokens · ${num(rep[R.lat], 0)} ms · $${num(rep[R.cost], 6)}${rep[R.cached] ? " · cached" : ""}
        ${rep[R.err] ? `<div class="err">error: ${esc(text(rep[R.err]))}</div>` : `<pre>${esc(text(rep[R.out]))}</pre>`}<ul class="scores">${scores}</ul>${label}</div>`;
    }).join("");
    box.innerHTML = `<p><b>row ${esc(r.row.id)} · ${esc(V[j])}</b> <button id="close">close</button></p>
      ${inputs ? `<table>${inputs}</table>` : ""}<h3>messages sent</h3>${msgs}<h3>repeats</h3>${reps}`;
    box.hidden = false;
    $("close").onclick = () => { box.hidden = true; };
    box.scrollIntoView({ block: "nearest" });
  }

  const on = (id, ev, f) => $(id).addEventListener(ev, (e) => { f(e.target); state.page = 0; draw(); });
  on("q", "input", (t) => (state.search = t.value.trim()));
  on("failures", "change", (t) => (state.failures = t.checked));
  on("disagree", "change", (t) => (state.disagree = t.checked));
  on("scorer", "change", (t) => (state.scorer = t.value));
  on("sort", "change", (t) => (state.sort = t.value));
  on("variant", "change", (t) => (state.variant = t.value));
  on("desc", "change", (t) => (state.desc = t.checked));
  on("size", "change", (t) => (state.size = Number(t.value)));
  $("baseline").addEventListener("change", (e) => { state.baseline = e.target.value; draw(); });
  $("prev").addEventListener("click", () => { state.page--; draw(); });
  $("next").addEventListener("click", () => { state.page++; draw(); });
  const open = (e) => { const td = e.target.closest("td.cell[data-row]"); if (td) detail(Number(td.dataset.row), Number(td.dataset.variant)); };
  grid.querySelector("tbody").addEventListener("click", open);
  grid.querySelector("tbody").addEventListener("keydown", (e) => { if (e.key === "Enter") open(e); });
  draw();
})();
