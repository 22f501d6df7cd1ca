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

  // Browsers ignore autofocus inside a cross-site iframe, which is where FlickRocket shows us;
  // the scan bench needs the cursor in the next box so a barcode scanner can keep going.
  document.addEventListener("DOMContentLoaded", function () {
    var field = document.querySelector("[autofocus]");
    if (field && (!document.activeElement || document.activeElement === document.body)) {
      field.focus();
    }
  });
})();
