/* Live character counter: <textarea data-char-limit="800" data-char-counter="ID"> updates the
   element ID's [data-char-count] as the server counts (one per Chinese character or letter, CR LF
   once, surrounding spaces not counted) and marks it when the limit is passed. */
(function () {
  "use strict";

  function count(text) {
    return Array.from(text.replace(/\r\n/g, "\n").normalize("NFC").trim()).length;
  }

  function update(field) {
    var box = document.getElementById(field.dataset.charCounter);
    if (!box) {
      return;
    }
    var used = count(field.value);
    var over = used > parseInt(field.dataset.charLimit, 10);
    var number = box.querySelector("[data-char-count]");
    if (number) {
      number.textContent = String(used);
    }
    box.classList.toggle("text-danger", over);
    box.classList.toggle("fw-semibold", over);
  }

  document.querySelectorAll("textarea[data-char-limit][data-char-counter]").forEach(function (field) {
    field.addEventListener("input", function () {
      update(field);
    });
    update(field);
  });
})();
