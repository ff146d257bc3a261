// graphrec web page: upload an image, render the recommended songs and the reasons for each.
// Everything comes from this server; text from the model is set with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const drop = $("drop");
const fileInput = $("file");
const preview = $("preview");
const statusLine = $("status");
const results = $("results");
const template = $("song-template");
let lastFile = null;
let previewUrl = null;

function setStatus(text, kind) {
  statusLine.textContent = text;
  statusLine.className = "status" + (kind ? " " + kind : "");
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderSongs(data) {
  results.replaceChildren();
  data.songs.forEach((song, i) => {
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.songId = song.song_id;
    item.querySelector(".rank").textContent = String(i + 1);
    item.querySelector(".title").textContent = song.title;
    item.querySelector(".artist").textContent = song.artist ? "— " + song.artist : "";
    item.querySelector(".lines").textContent = song.first_lines;
    item.querySelector(".score").textContent = song.score.toFixed(3);

    const thumbs = item.querySelector(".thumbs");
    for (const img of song.images) {
      const thumb = el("img", "thumb");
      thumb.src = "/images/" + encodeURIComponent(img.image_id);
      thumb.alt = img.image_id;
      thumb.title = img.image_id + " (distance " + img.distance.toFixed(3) + ")";
      thumb.loading = "lazy";
      thumbs.append(thumb);
    }
    const keywords = item.querySelector(".keywords");
    const words = song.keywords.length ? song.keywords : song.song_keywords;
    for (const word of words) {
      keywords.append(el("span", song.keywords.length ? "chip" : "chip weak", word));
    }
    if (!song.keywords.length) item.querySelector(".why-label").textContent = "near";

    const details = item.querySelector("details");
    details.addEventListener("toggle", async () => {
      const lyrics = item.querySelector(".lyrics");
      if (!details.open || lyrics.dataset.loaded) return;
      try {
        const response = await fetch("/songs/" + encodeURIComponent(song.song_id));
        const body = await response.json();
        lyrics.textContent = response.ok ? body.lyrics : body.detail || body.error;
        lyrics.dataset.loaded = "1";
      } catch (err) {
        lyrics.textContent = "could not load the lyrics: " + err;
      }
    });
    results.append(item);
  });
}

async function recommend(file) {
  lastFile = file;
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  preview.src = previewUrl;
  preview.hidden = false;
  $("drop-text").hidden = true;
  drop.classList.add("has-image");

  const form = new FormData();
  form.append("file", file, file.name || "upload");
  form.append("k", $("k").value);
  setStatus("Listening to your photo…", "busy");
  document.body.classList.add("busy");
  const started = performance.now();
  try {
    const response = await fetch("/recommend", { method: "POST", body: form });
    let body;
    try {
      body = await response.json();
    } catch (err) {
      body = { error: "HTTP " + response.status, detail: response.statusText };
    }
    if (!response.ok) {
      results.replaceChildren();
      setStatus(body.error + ": " + (body.detail || ""), "error");
      return;
    }
    renderSongs(body);
    const ms = Math.round(performance.now() - started);
    if (body.message) {
      // no evidence: the photo shows nothing songs sing of, and the service says so instead of guessing
      setStatus(body.message, "error");
    } else {
      setStatus(body.songs.length + " songs in " + ms + " ms · featurizer " + body.featurizer, "ok");
    }
  } catch (err) {
    setStatus("The server could not be reached: " + err, "error");
  } finally {
    document.body.classList.remove("busy");
  }
}

fileInput.addEventListener("change", () => {
  if (fileInput.files.length) recommend(fileInput.files[0]);
});
$("k").addEventListener("change", () => {
  if (lastFile) recommend(lastFile);
});
drop.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    fileInput.click();
  }
});
for (const name of ["dragenter", "dragover"]) {
  drop.addEventListener(name, (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
}
for (const name of ["dragleave", "drop"]) {
  drop.addEventListener(name, () => drop.classList.remove("over"));
}
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer.files[0];
  if (file) recommend(file);
});
// Dropping a file anywhere else must not navigate away from the page.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());

fetch("/healthz")
  .then((response) => response.json())
  .then((health) => {
    $("model-info").textContent =
      health.model.songs + " songs · " + health.model.images + " images · " +
      health.model.keywords + " keywords · featurizer " + health.featurizer.name;
  })
  .catch(() => {});
