// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function updateSelectedCount() {
    var counter = document.getElementById("selected-count");
    if (!counter) return;
    counter.textContent = document.querySelectorAll("input.row-select:checked").length;
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-all") {
      document.querySelectorAll("input.row-select").forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.id === "select-all" || target.classList.contains("row-select")) {
      updateSelectedCount();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    if (button.classList.contains("print-button")) {
      window.print();
    } else if (button.classList.contains("copy-button")) {
      var source = document.getElementById(button.dataset.copyTarget);
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.innerText.trim()).then(function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        });
      }
    }
  });

  // After an inline ship swaps a row, the next row's tracking box gets the focus: a shipping
  // clerk can scan parcel after parcel down the list without touching the mouse.
  document.addEventListener("htmx:afterSwap", function (event) {
    var row = event.detail.target;
    if (!row || row.tagName !== "TR") return;
    var swapped = document.getElementById(row.id) || row;
    var invalid = swapped.querySelector("input.is-invalid");
    if (invalid) { invalid.focus(); invalid.select(); return; }
    var next = swapped.nextElementSibling;
    var input = next && next.querySelector(".inline-ship input[name=tracking_number]");
    if (input) input.focus();
    updateSelectedCount();
  });

  document.addEventListener("DOMContentLoaded", updateSelectedCount);

  // Packing verification answers a wrong item with 4xx: htmx keeps those out by default, but the
  // bench must show them (the red banner), so they are swapped in like any other answer.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "pack-bench" && event.detail.xhr.status >= 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A short low beep with the red banner, so a packer looking at the parcel notices too.
  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      var audio = new Context();
      var tone = audio.createOscillator();
      var gain = audio.createGain();
      tone.type = "square";
      tone.frequency.value = 220;
      gain.gain.value = 0.15;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.35);
      tone.onended = function () { audio.close(); };
    } catch (ignored) { /* no sound is fine: the banner stays */ }
  }

  function settleBench() {
    var bench = document.getElementById("pack-bench");
    if (!bench) return;
    if (bench.querySelector("[data-beep]")) beep();
    var input = document.getElementById("scan-input");
    if (input) { input.focus(); input.select(); }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "pack-bench") settleBench();
  });
  document.addEventListener("DOMContentLoaded", settleBench);

  // Browsers ignore autofocus inside a cross-site iframe, which is where FlickRocket shows us;
  // the scan bench needs the cursor in the next box so a barcode scanner can keep going.
  document.addEventListener("DOMContentLoaded", function () {
    var field = document.querySelector("[autofocus]");
    if (field && (!document.activeElement || document.activeElement === document.body)) {
      field.focus();
    }
  });
})();
