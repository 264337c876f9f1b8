/* The window page's typo check (issue 11 §1): a typed licence id whose check character is wrong
   is refused before any request, naming the expected character. The same computation as
   ledger/ids.py (GB 32100-2015 USCC check; ISO/IEC 7064 MOD 37,36 over type ‖ issuer ‖ serial ‖
   version); tests/api/web/test_window.py runs this file under node against ledger/ids.py. A QR
   payload (EL1:...) and anything not shaped like a licence id go to the server unchanged: the
   server checks everything again. Never sends anything anywhere itself. */
"use strict";

var USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
var USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
var MOD_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
var LICENCE_ID_PREFIX = "1.2.156.3005.2.";
var LICENCE_ID_RE = /^1\.2\.156\.3005\.2\.([0-9A-Z]{21})\.([0-9A-Z]{18})\.([0-9]{1,20})\.([0-9]{3})\.([0-9A-Z])$/;

/* The USCC check character of 17 characters, or null when one is not a USCC character. */
function usccCheck(body) {
  var total = 0;
  for (var i = 0; i < 17; i++) {
    var value = USCC_ALPHABET.indexOf(body.charAt(i));
    if (value < 0) return null;
    total += value * USCC_WEIGHTS[i];
  }
  return USCC_ALPHABET.charAt((31 - (total % 31)) % 31);
}

/* ISO/IEC 7064 MOD 37,36 (hybrid, M = 36) check character of text in 0-9A-Z. */
function mod3736Check(text) {
  var product = 36;
  for (var i = 0; i < text.length; i++) {
    var sum = (product + MOD_ALPHABET.indexOf(text.charAt(i))) % 36;
    product = (2 * (sum === 0 ? 36 : sum)) % 37;
  }
  return MOD_ALPHABET.charAt((37 - product) % 36);
}

/* What is wrong with a typed licence id: null when nothing is found (or it is no licence id at
   all: the server judges it), else {part: "type" | "issuer" | "check", expected, actual}. */
function licenceIdProblem(text) {
  if (text.indexOf(LICENCE_ID_PREFIX) !== 0) return null;
  var m = LICENCE_ID_RE.exec(text);
  if (m === null) return null;  /* a wrong form: the server's message names it */
  var parts = [["type", m[1].slice(0, 18)], ["issuer", m[2]]];
  for (var i = 0; i < parts.length; i++) {
    var uscc = parts[i][1];
    var expected = usccCheck(uscc.slice(0, 17));
    if (expected === null) return null;
    if (uscc.charAt(17) !== expected) return {part: parts[i][0], expected: expected, actual: uscc.charAt(17)};
  }
  var check = mod3736Check(m[1] + m[2] + m[3] + m[4]);
  return m[5] === check ? null : {part: "check", expected: check, actual: m[5]};
}

if (typeof module !== "undefined") {
  module.exports = {usccCheck: usccCheck, mod3736Check: mod3736Check, licenceIdProblem: licenceIdProblem,
                    USCC_ALPHABET: USCC_ALPHABET, USCC_WEIGHTS: USCC_WEIGHTS, MOD_ALPHABET: MOD_ALPHABET};
}

if (typeof document !== "undefined") {
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-typo-check]");
    if (form === null) return;
    var input = form.querySelector("input[name=q]");
    var message = document.getElementById("q-problem");
    if (input.value !== "") input.select();  /* given back to correct: a new scan replaces it */
    /* On a phone the form fills the first screen: bring the verdict (or the problem) into view.
       The input is focused first without scrolling, so that autofocus (which would scroll back
       to it) has nothing left to do and a next scan still goes into the input. */
    var answer = document.querySelector(".result .verdict, .result .problem-box");
    if (answer !== null && window.matchMedia && window.matchMedia("(max-width: 40rem)").matches) {
      input.focus({preventScroll: true});
      answer.scrollIntoView({block: "start"});
    }
    input.addEventListener("input", function () { message.textContent = ""; input.removeAttribute("aria-invalid"); });
    form.addEventListener("submit", function (event) {
      var text = input.value.trim();
      if (text.indexOf("EL1:") === 0) return;
      var problem = licenceIdProblem(text);
      if (problem === null) return;
      event.preventDefault();
      message.textContent = form.getAttribute("data-msg-" + problem.part)
        .replace("{expected}", problem.expected).replace("{actual}", problem.actual);
      input.setAttribute("aria-invalid", "true");
      input.focus();
    });
  });
}
