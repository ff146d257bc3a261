// The judging page. Every click is sent at once and the server answers only after the
// judgment is on disk, so closing the tab never loses an answered judgment.
"use strict";

const $ = (id) => document.getElementById(id);
let judge = localStorage.getItem("graphrec-judge") || "";
let current = null;

function setStatus(text) { $("status").textContent = text || ""; }

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function load(imageId) {
  setStatus("");
  const query = new URLSearchParams({ judge });
  if (imageId) query.set("image", imageId);
  let task;
  try {
    task = await getJSON("/api/task?" + query);
  } catch (err) {
    setStatus("无法加载 / could not load: " + err.message);
    return;
  }
  if (task.done) {
    $("task").hidden = true;
    $("done").hidden = false;
    return;
  }
  $("done").hidden = true;
  $("task").hidden = false;
  current = task;
  $("image").src = task.image.url;
  $("image").alt = task.image.theme;
  $("where").textContent = `${task.image.theme} (${task.position} / ${task.images})`;
  $("previous").disabled = !task.previous;
  $("next").disabled = !task.next;
  const list = $("songs");
  list.replaceChildren();
  for (const song of task.songs) list.appendChild(songItem(song));
  updateProgress();
}

function songItem(song) {
  const item = $("song-template").content.firstElementChild.cloneNode(true);
  item.querySelector(".title").textContent = song.title;
  item.querySelector(".artist").textContent = song.artist;
  item.querySelector(".lyrics").textContent = song.lyrics;
  item.dataset.songId = song.song_id;
  mark(item, song.relevant);
  item.querySelector(".yes").addEventListener("click", () => send(item, true));
  item.querySelector(".no").addEventListener("click", () => send(item, false));
  return item;
}

function mark(item, relevant) {
  item.classList.toggle("yes", relevant === true);
  item.classList.toggle("no", relevant === false);
  item.dataset.relevant = relevant === null || relevant === undefined ? "" : String(relevant);
}

async function send(item, relevant) {
  const saved = item.querySelector(".saved");
  saved.classList.remove("error");
  saved.textContent = "保存中… saving";
  try {
    const response = await fetch("/api/judgments", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ image: current.image.id, song_id: item.dataset.songId, relevant, judge }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    mark(item, relevant);
    saved.textContent = "已保存 saved";
    updateProgress();
  } catch (err) {
    saved.classList.add("error");
    saved.textContent = "未保存，请再点一次 / not saved, click again: " + err.message;
  }
}

function updateProgress() {
  const items = [...document.querySelectorAll(".song")];
  const done = items.filter((i) => i.dataset.relevant !== "").length;
  $("progress").textContent = `已评 ${done} / ${items.length} judged`;
}

$("who").addEventListener("submit", (event) => {
  event.preventDefault();
  judge = $("judge").value.trim();
  if (!judge) return;
  localStorage.setItem("graphrec-judge", judge);
  load(null);
});
$("previous").addEventListener("click", () => current && current.previous && load(current.previous));
$("next").addEventListener("click", () => current && current.next && load(current.next));

$("judge").value = judge;
if (judge) load(null);
