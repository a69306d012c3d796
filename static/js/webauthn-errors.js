// allauth's WebAuthn script only logs a failed or cancelled ceremony to the console; say it on the page.
document.addEventListener("allauth.error", function (event) {
  var box = document.getElementById("webauthn-error");
  if (!box) return;
  event.preventDefault();
  var name = event.detail && event.detail.exception && event.detail.exception.name;
  box.textContent = name === "NotAllowedError"
    ? "The security key did not answer, or the request was cancelled. Try again."
    : name === "InvalidStateError"
      ? "This security key is already added to your account."
      : "Your browser could not use a security key here. Try again, or use another way.";
  box.hidden = false;
});
