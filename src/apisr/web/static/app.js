// The apisr web UI: upload, follow the job, compare before/after at pixel zoom, download.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const form = $("#job-form");
const errorBox = $("#error");

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  document.body.dataset.state = "error";
}

function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = "";
}

async function loadModels() {
  const response = await fetch("/api/models");
  const data = await response.json();
  const select = $("#model");
  for (const model of data.models) {
    const option = document.createElement("option");
    option.value = model.id;
    const scale = model.scale ? ` (${model.scale}x)` : "";
    option.textContent = `${model.name}${scale}${model.source === "folder" ? " — models folder" : ""}`;
    option.selected = model.id === data.default;
    select.append(option);
  }
  if (!data.models.length) showError("No model available: start the server with --models-dir pointing at a folder of checkpoints.");
  $("#footer").textContent = `Uploads up to ${(data.max_upload_bytes / 2 ** 20).toFixed(0)} MiB; files stay in a temporary folder deleted when you leave.`;
}

function setupDrop() {
  const drop = $(".drop");
  const input = $("#files");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change"));
  });
  input.addEventListener("change", () => {
    const names = Array.from(input.files).map((file) => file.name);
    $("#drop-text").textContent = names.length ? names.join(", ") : "Drop pictures or a video here, or click to choose";
  });
}

async function submitJob(event) {
  event.preventDefault();
  clearError();
  if (!$("#files").files.length) {
    showError("Choose one or more pictures or a video first.");
    return;
  }
  const button = $("#run");
  button.disabled = true;
  document.body.dataset.state = "uploading";
  $("#results").replaceChildren();
  setProgress(0, "uploading…");
  try {
    const response = await fetch("/api/jobs", { method: "POST", body: new FormData(form) });
    const data = await response.json();
    if (!response.ok) {
      $("#status-line").hidden = true;
      showError(data.error || `the server answered ${response.status}`);
      return;
    }
    await follow(data.id);
  } catch (err) {
    showError(`Lost contact with the server: ${err}`);
  } finally {
    button.disabled = false;
  }
}

function setProgress(value, text) {
  $("#status-line").hidden = false;
  $("#progress").value = value;
  $("#status").textContent = text;
}

async function follow(jobId) {
  document.body.dataset.state = "running";
  for (;;) {
    const response = await fetch(`/api/jobs/${jobId}`);
    const job = await response.json();
    if (!response.ok) throw new Error(job.error);
    const percent = Math.round(job.progress * 100);
    setProgress(job.progress, `${job.message || job.state} — ${percent}%`);
    if (job.state === "done" || job.state === "failed") {
      render(job);
      document.body.dataset.state = job.state;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

function render(job) {
  const errors = job.items.filter((item) => item.error).map((item) => item.error);
  if (errors.length) showError(errors.join("\n"));
  for (const item of job.items) {
    if (!item.done) continue;
    const base = `/api/jobs/${job.id}/items/${item.index}`;
    const template = $(item.kind === "video" ? "#video-result" : "#image-result");
    const node = template.content.firstElementChild.cloneNode(true);
    $(".name", node).textContent = item.name;
    const [w, h] = item.size, [ow, oh] = item.out_size;
    $(".sizes", node).textContent = `${w}×${h} → ${ow}×${oh}`;
    const link = $(".download", node);
    link.href = `${base}/output?download=1`;
    if (item.kind === "video") {
      $(".notes", node).textContent = item.notes.join("; ");
    } else {
      setupViewer(node, base, item);
    }
    $("#results").append(node);
  }
}

function setupViewer(node, base, item) {
  const [ow, oh] = item.out_size;
  const canvas = $(".canvas", node);
  const viewer = $(".viewer", node);
  const before = $(".before", node);
  const after = $(".after", node);
  const divider = $(".divider", node);
  const split = $(".split", node);
  const zoom = $(".zoom", node);
  after.src = `${base}/output`;
  before.src = `${base}/input`;
  after.dataset.width = ow;
  after.dataset.height = oh;

  function applyZoom() {
    // "fit": the whole picture in the page; N: N screen pixels per output pixel (pixelated, no smoothing).
    const available = viewer.clientWidth || 800;
    const factor = zoom.value === "fit" ? Math.min(1, available / ow) || 1 : Number(zoom.value);
    canvas.style.width = `${ow * factor}px`;
    canvas.style.height = `${oh * factor}px`;
  }
  function applySplit() {
    before.style.clipPath = `inset(0 ${100 - split.value}% 0 0)`;
    divider.style.left = `${split.value}%`;
  }
  function dragTo(event) {
    const box = canvas.getBoundingClientRect();
    split.value = Math.round(((event.clientX - box.left) / box.width) * 100);
    applySplit();
  }
  zoom.addEventListener("change", applyZoom);
  split.addEventListener("input", applySplit);
  canvas.addEventListener("pointerdown", (event) => { canvas.setPointerCapture(event.pointerId); dragTo(event); });
  canvas.addEventListener("pointermove", (event) => { if (event.buttons) dragTo(event); });
  requestAnimationFrame(applyZoom);
  applySplit();
}

window.addEventListener("pagehide", () => navigator.sendBeacon("/api/session/end"));
form.addEventListener("submit", submitJob);
setupDrop();
loadModels().catch((err) => showError(`Cannot list models: ${err}`));
