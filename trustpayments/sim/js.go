package sim

// stJS is the stand-in for Trust Payments' st.js v3. It offers the same
// entry point (SecureTrading({jwt, formId, submitOnSuccess, submitOnError})
// and .Components()), renders the card fields into the documented
// containers, drives the gateway's /jwt/ endpoint (THREEDQUERY and AUTH in
// one call, a 3-D Secure challenge step when the card asks for one) and
// posts the merchant's form with the response jwt and the plain result
// fields st.js submits (notes §4.6). Card data never goes into the form.
// A transport failure is not retried: the request may have reached the
// gateway, and the notes say never to retry blindly (the SDKs retry only
// failed connects). As st.js does, the library then synthesises errorcode
// 50003 "Invalid response" and posts the form without a jwt, so Tender
// puts the payment in doubt and reconciles it by TRANSACTIONQUERY.
const stJS = `(function () {
  "use strict";
  var script = document.currentScript;
  var base = script.src.replace(/\/js\/v3\/st\.js(\?.*)?$/, "");
  var gateway = base + "/jwt/";

  function b64urlJSON(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return JSON.parse(decodeURIComponent(escape(atob(s))));
  }
  function claims(jwt) { return b64urlJSON(jwt.split(".")[1]); }
  function el(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function post(url, body) {
    return fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "Accept": "application/json"}, body: JSON.stringify(body)})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); });
  }
  function luhn(pan) {
    if (!/^\d{12,19}$/.test(pan)) return false;
    var sum = 0;
    for (var i = 0; i < pan.length; i++) {
      var d = +pan[pan.length - 1 - i];
      if (i % 2) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
    }
    return sum % 10 === 0;
  }

  window.SecureTrading = function (config) {
    var form = document.getElementById(config.formId || "st-form");
    var jwt = config.jwt;
    var notify = document.getElementById("st-notification-frame");
    var inputs = {};
    function say(msg, bad) {
      if (!notify) return;
      notify.textContent = msg;
      notify.style.color = bad ? "#b91c1c" : "#166534";
    }
    function field(id, label, ph, auto) {
      var box = document.getElementById(id);
      if (!box) return;
      var l = el("label", {"for": id + "-input"});
      l.textContent = label;
      l.style.display = "block";
      var i = el("input", {id: id + "-input", placeholder: ph, autocomplete: auto, inputmode: "numeric"});
      i.style.cssText = "width:100%;padding:.6rem;font-size:1rem;box-sizing:border-box";
      box.appendChild(l); box.appendChild(i);
      inputs[id] = i;
    }
    function finish(fields) {
      for (var k in fields) {
        if (fields[k] === undefined || fields[k] === null) continue;
        var h = form.querySelector("input[type=hidden][name='" + k + "']");
        if (!h) { h = el("input", {type: "hidden", name: k}); form.appendChild(h); }
        h.value = typeof fields[k] === "string" ? fields[k] : JSON.stringify(fields[k]);
      }
      HTMLFormElement.prototype.submit.call(form);
    }
    function transportFailed() { finish({errorcode: "50003", errormessage: "Invalid response"}); }
    function result(responseJWT) {
      var p = claims(responseJWT).payload, list = p.response || [], main = list[list.length - 1];
      for (var i = 0; i < list.length; i++) if (list[i].customeroutput) { main = list[i]; break; }
      return {payload: p, main: main};
    }
    function submitResult(responseJWT, r) {
      var m = r.main, ok = m.errorcode === "0";
      if ((ok && config.submitOnSuccess === false) || (!ok && !config.submitOnError)) {
        say(ok ? "Payment successful" : (m.errormessage || "Payment failed"), !ok);
        return;
      }
      finish({jwt: responseJWT, errorcode: m.errorcode, errormessage: m.errormessage, settlestatus: m.settlestatus,
        transactionreference: m.transactionreference, enrolled: m.enrolled, status: m.status, eci: m.eci,
        baseamount: m.baseamount, currencyiso3a: m.currencyiso3a, errordata: m.errordata});
    }
    function call(requestJWT, request) {
      var types = claims(requestJWT).payload.requesttypedescriptions || ["THREEDQUERY", "AUTH"];
      request.requesttypedescriptions = types;
      return post(gateway, {jwt: requestJWT, version: "1.00", acceptcustomeroutput: "2.00",
        versioninfo: "STJS::N/A::tender-sim::N/A", request: [request]}).then(function (body) { return body.jwt; });
    }
    function challenge(m, next, card) {
      var box = document.getElementById("st-challenge") || form;
      box.innerHTML = "";
      var l = el("label", {"for": "st-otp"}); l.textContent = "3-D Secure: enter the code your bank sent (sandbox: 1234)";
      var i = el("input", {id: "st-otp", inputmode: "numeric", autocomplete: "one-time-code"});
      var b = el("button", {type: "button"}); b.textContent = "Confirm";
      var c = el("button", {type: "button"}); c.textContent = "Cancel";
      box.appendChild(l); box.appendChild(i); box.appendChild(b); box.appendChild(c);
      say("Your bank asks you to confirm this payment.");
      function done(cancel) {
        b.disabled = c.disabled = true;
        post(m.acsurl, {threedpayload: m.threedpayload, otp: i.value, cancel: cancel}).then(function (acs) {
          card.threedresponse = acs.threedresponse;
          return call(next, card);
        }).then(function (rj) { submitResult(rj, result(rj)); })
          .catch(transportFailed);
      }
      b.onclick = function () { done(false); };
      c.onclick = function () { done(true); };
    }
    return {
      Components: function () {
        field("st-card-number", "Card number", "4111 1111 1111 1111", "cc-number");
        field("st-expiration-date", "Expiry date (MM/YY)", "12/30", "cc-exp");
        field("st-security-code", "Security code", "123", "cc-csc");
        form.addEventListener("submit", function (ev) {
          ev.preventDefault();
          var card = {
            pan: (inputs["st-card-number"].value || "").replace(/\s+/g, ""),
            expirydate: (inputs["st-expiration-date"].value || "").replace(/\s+/g, ""),
            securitycode: (inputs["st-security-code"].value || "").trim()
          };
          if (!luhn(card.pan)) return say("Please check the card number.", true);
          if (!/^(0[1-9]|1[0-2])\/(\d{2}|\d{4})$/.test(card.expirydate)) return say("Please enter the expiry date as MM/YY.", true);
          if (!/^\d{3,4}$/.test(card.securitycode)) return say("Please check the security code.", true);
          var btn = form.querySelector("button[type=submit]");
          if (btn) btn.disabled = true;
          say("Processing…");
          call(jwt, card).then(function (rj) {
            var r = result(rj);
            if (r.main.customeroutput === "THREEDREDIRECT") return challenge(r.main, r.payload.jwt, card);
            submitResult(rj, r);
          }).catch(transportFailed);
        });
      }
    };
  };
})();
`
