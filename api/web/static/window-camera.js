/* Scanning the holder's QR code with the device camera on the window page (issue 11 §1), where
   the browser allows it: the "scan with camera" button shows only when getUserMedia exists.
   Pressing it opens the rear camera in a <video>, decodes frames until a payload starting with
   "EL1:" is found, puts it into the one input and submits the form: the same POST a wedge
   scanner makes. The decoder is the browser's BarcodeDetector when it reads "qr_code", else the
   vendored jsQR (static/vendor/jsqr), loaded only now so the page itself stays small.
   Never sends a frame anywhere, never keeps the camera on after a payload, a cancel or leaving
   the page, and loads nothing from another origin (the CSP forbids it). Messages come from the
   panel's data-msg-* attributes (zh or en, as the page). */
"use strict";

(function () {
  var PAYLOAD_PREFIX = "EL1:";
  var JSQR_URL = "/static/vendor/jsqr/jsQR.js";
  var SCAN_INTERVAL_MS = 120;   /* between two decoded frames: fast enough, spares a phone's CPU */
  var MAX_FRAME_SIDE = 800;     /* a frame is scaled down to this for jsQR */

  /* A function decoding the video's current frame into a list of texts (a promise of it). */
  function barcodeDetectorDecoder() {
    if (typeof window.BarcodeDetector !== "function" || typeof window.BarcodeDetector.getSupportedFormats !== "function") {
      return Promise.resolve(null);
    }
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") < 0) return null;
      var detector = new window.BarcodeDetector({formats: ["qr_code"]});
      var decode = function (video) {
        return detector.detect(video).then(function (codes) {
          return codes.map(function (code) { return code.rawValue; });
        });
      };
      decode.kind = "barcode-detector";
      return decode;
    }, function () { return null; });
  }

  var jsqrLoading = null;

  function loadJsqr() {
    if (jsqrLoading === null) {
      jsqrLoading = new Promise(function (resolve, reject) {
        if (typeof window.jsQR === "function") { resolve(window.jsQR); return; }
        var script = document.createElement("script");
        script.src = JSQR_URL;
        script.onload = function () { if (typeof window.jsQR === "function") resolve(window.jsQR); else reject(new Error("jsQR")); };
        script.onerror = function () { jsqrLoading = null; reject(new Error("jsQR")); };
        document.head.appendChild(script);
      });
    }
    return jsqrLoading;
  }

  function jsqrDecoder() {
    return loadJsqr().then(function (jsQR) {
      var canvas = document.createElement("canvas");
      var context = canvas.getContext("2d", {willReadFrequently: true});
      var decode = function (video) {
        var scale = Math.min(1, MAX_FRAME_SIDE / Math.max(video.videoWidth, video.videoHeight));
        var width = Math.max(1, Math.round(video.videoWidth * scale));
        var height = Math.max(1, Math.round(video.videoHeight * scale));
        canvas.width = width;
        canvas.height = height;
        context.drawImage(video, 0, 0, width, height);
        var found = jsQR(context.getImageData(0, 0, width, height).data, width, height, {inversionAttempts: "attemptBoth"});
        return Promise.resolve(found === null ? [] : [found.data]);
      };
      decode.kind = "jsqr";
      return decode;
    });
  }

  function chooseDecoder() {
    return barcodeDetectorDecoder().then(function (decode) { return decode || jsqrDecoder(); });
  }

  /* The message key for a getUserMedia refusal (DOMException names, Media Capture §10). */
  function failureKey(error) {
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "none";
    if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return "busy";
    return "failed";
  }

  function setUp(form) {
    var input = form.querySelector("input[name=q]");
    var start = document.getElementById("camera-start");
    var panel = document.getElementById("camera");
    var video = panel.querySelector("video");
    var status = document.getElementById("camera-status");
    var cancel = document.getElementById("camera-cancel");
    var stream = null;
    var timer = null;
    var session = 0;  /* a newer start or a stop makes an older one's callbacks do nothing */

    function say(key, detail) {
      status.textContent = (panel.getAttribute("data-msg-" + key) || "").replace("{detail}", detail || "");
      status.setAttribute("data-state", key);
    }

    function stop() {
      session += 1;
      if (timer !== null) { clearTimeout(timer); timer = null; }
      if (stream !== null) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        stream = null;
      }
      video.pause();
      video.srcObject = null;
    }

    function close() {
      leave();
      input.focus();
    }

    function found(payload) {
      stop();
      say("found");
      input.value = payload;
      input.dispatchEvent(new Event("input", {bubbles: true}));
      if (typeof form.requestSubmit === "function") form.requestSubmit(); else form.submit();
    }

    function scan(mine, decode) {
      if (mine !== session) return;
      var decoding = Promise.resolve([]);
      if (video.readyState >= 2 && video.videoWidth > 0) {
        try { decoding = decode(video); } catch (error) { decoding = Promise.reject(error); }
      }
      decoding.then(function (texts) {
        if (mine !== session) return;
        for (var i = 0; i < texts.length; i++) {
          if (texts[i].indexOf(PAYLOAD_PREFIX) === 0) { found(texts[i]); return; }
        }
        if (texts.length > 0) say("not_licence");
        timer = setTimeout(function () { scan(mine, decode); }, SCAN_INTERVAL_MS);
      }, function () {
        if (mine === session) timer = setTimeout(function () { scan(mine, decode); }, SCAN_INTERVAL_MS);
      });
    }

    function open() {
      stop();
      var mine = session;
      panel.hidden = false;
      start.hidden = true;
      say("starting");
      var camera = navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false});
      camera.then(function (media) {
        if (mine !== session) { media.getTracks().forEach(function (track) { track.stop(); }); return; }
        stream = media;
        video.srcObject = media;
        var decoder = chooseDecoder();  /* only now: no decoder is fetched for a refused camera */
        decoder.catch(function () {});  /* its failure is told below, once the video plays */
        Promise.resolve(video.play()).then(function () {
          return decoder.then(function (decode) {
            if (mine !== session) return;
            panel.setAttribute("data-decoder", decode.kind);
            say("looking");
            scan(mine, decode);
          }, function () {
            if (mine !== session) return;
            stop();
            say("decoder");
          });
        }, function (error) {
          if (mine !== session) return;
          stop();
          say("failed", error && error.name);
        });
      }, function (error) {
        if (mine !== session) return;
        stop();
        say(failureKey(error), error && error.name);
      });
    }

    function leave() {
      stop();
      panel.hidden = true;
      start.hidden = false;
    }

    start.addEventListener("click", open);
    cancel.addEventListener("click", close);
    window.addEventListener("pagehide", leave);
    start.hidden = false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-typo-check]");
    var hasCamera = navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === "function";
    if (form === null || !hasCamera || document.getElementById("camera") === null) return;
    setUp(form);
  });
})();
