// The job dashboard's only script: live updates (server-sent events), shift-click selection,
// and confirmations. Pages work without it; nothing here is inline, so a CSP of 'self' holds.
"use strict";

(function () {
  const body = document.body;

  // -- confirmations: a button with data-confirm asks first -----------------------------------
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  // -- selection: checkboxes, shift-click selects a range --------------------------------------
  let lastPicked = null;
  const picks = () => Array.from(document.querySelectorAll("input.pick"));

  function selectionChanged() {
    const count = picks().filter((box) => box.checked).length;
    document.querySelectorAll("[data-selected-count]").forEach((el) => { el.textContent = String(count); });
    document.querySelectorAll("[data-needs-selection]").forEach((el) => { el.disabled = count === 0; });
  }

  document.addEventListener("click", function (event) {
    const box = event.target.closest("input.pick");
    if (!box) return;
    if (event.shiftKey && lastPicked && lastPicked !== box && document.contains(lastPicked)) {
      const all = picks();
      const a = all.indexOf(lastPicked);
      const b = all.indexOf(box);
      for (let i = Math.min(a, b); i <= Math.max(a, b); i++) all[i].checked = box.checked;
    }
    lastPicked = box;
    selectionChanged();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      picks().forEach((box) => { box.checked = event.target.checked; });
      selectionChanged();
    }
  });
  selectionChanged();

  // A notice (?done=…) is shown once: reloading the page must not show it again.
  const url = new URL(window.location.href);
  if (url.searchParams.has("done")) {
    url.searchParams.delete("done");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  // -- live updates ----------------------------------------------------------------------------
  const status = document.getElementById("live");

  function showStatus(text, on) {
    if (!status) return;
    status.textContent = text;
    status.className = on ? "live on" : "live off";
  }

  // Follow a stream; the browser reconnects by itself (sending Last-Event-ID). When it gives
  // up (the server answered with an error while restarting), open it again with ?last=.
  function follow(streamUrl, handlers) {
    let lastId = null;
    let source = null;
    function open() {
      const target = new URL(streamUrl, window.location.href);
      if (lastId) target.searchParams.set("last", lastId);
      source = new EventSource(target.pathname + target.search);
      source.onopen = () => showStatus("live", true);
      source.onerror = function () {
        showStatus("reconnecting…", false);
        if (source.readyState === EventSource.CLOSED) window.setTimeout(open, 2000);
      };
      Object.keys(handlers).forEach(function (name) {
        source.addEventListener(name, function (event) {
          if (event.lastEventId) lastId = event.lastEventId;
          handlers[name](JSON.parse(event.data));
        });
      });
    }
    open();
  }

  function setState(el, state) {
    el.textContent = state;
    el.className = el.className.replace(/\bstate-\S+/g, "").trim() + " state-" + state;
  }

  function onCounts(data) {
    Object.keys(data).forEach(function (queue) {
      const info = data[queue];
      Object.keys(info.counts).forEach(function (state) {
        document.querySelectorAll('[data-count="' + CSS.escape(queue + ":" + state) + '"]').forEach(function (el) {
          el.textContent = String(info.counts[state]);
        });
      });
      document.querySelectorAll('[data-paused="' + CSS.escape(queue) + '"]').forEach(function (el) {
        el.textContent = info.paused ? "paused" : "running";
        el.className = "badge " + (info.paused ? "paused" : "running");
      });
    });
  }

  const rows = document.getElementById("rows");
  const viewState = body.dataset.viewState || "";
  const PER_PAGE = 50;

  function onJob(event) {
    const id = CSS.escape(event.job);
    if (event.type === "state") {
      const el = document.querySelector('[data-state-of="' + id + '"]');
      if (el) {
        setState(el, event.state);
        el.closest("tr").classList.toggle("moved", viewState !== "" && event.state !== viewState);
      } else if (rows && event.row && event.state === viewState) {
        rows.insertAdjacentHTML("afterbegin", event.row);
        while (rows.rows.length > PER_PAGE) rows.deleteRow(-1);
        const empty = document.querySelector(".empty");
        if (empty) empty.remove();
      }
    } else if (event.type === "progress" && event.progress) {
      const cell = document.querySelector('[data-progress-of="' + id + '"]');
      if (cell) cell.textContent = Math.round(event.progress.percent) + "%";
    }
  }

  function onDetail(data) {
    const detail = document.getElementById("job-detail");
    if (!detail) return;
    const focused = document.activeElement && detail.contains(document.activeElement);
    detail.innerHTML = data.html;
    detail.dataset.updates = String(Number(detail.dataset.updates || "0") + 1);
    if (focused) detail.querySelector("h2").setAttribute("tabindex", "-1");
  }

  function onGone() {
    const detail = document.getElementById("job-detail");
    if (detail) detail.insertAdjacentHTML("afterbegin", '<p class="alert" role="alert">This job was removed.</p>');
  }

  function onProgress(run) {
    if (!run) return;
    const bar = document.getElementById("bulk-progress");
    if (bar) bar.value = run.percent;
    const put = (name, value) => document.querySelectorAll("[data-bulk-" + name + "]").forEach((el) => { el.textContent = String(value); });
    put("state", run.state);
    put("done", run.done);
    put("failed", run.failed);
    put("total", run.total);
    const list = document.querySelector("[data-bulk-errors]");
    if (list) {
      list.replaceChildren(...run.errors.map(function (text) {
        const item = document.createElement("li");
        item.textContent = text;
        return item;
      }));
    }
  }

  if (body.dataset.live) follow(body.dataset.live, { counts: onCounts, job: onJob, detail: onDetail, gone: onGone });
  if (body.dataset.bulk) follow(body.dataset.bulk, { progress: onProgress });
})();
