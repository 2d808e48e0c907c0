// Voter-match page: 1-3 pick a candidate, N "not on the voter file" (event.code, so any keyboard layout works).
"use strict";
(function () {
  const form = document.getElementById("voter-match");
  if (!form) return;
  const KEYS = { Digit1: "1", Digit2: "2", Digit3: "3", Numpad1: "1", Numpad2: "2", Numpad3: "3", KeyN: "n" };
  document.addEventListener("keydown", (event) => {
    const key = KEYS[event.code];
    if (!key || event.ctrlKey || event.metaKey || event.altKey) return;
    const button = form.querySelector(`button[data-key="${key}"]`);
    if (!button) return;
    event.preventDefault();
    button.click();
  });
})();
