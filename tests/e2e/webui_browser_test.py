"""The web playground in a real browser: Debian's headless Chromium, driven through
chromedriver by selenium (PyPI), against `genrt serve` on small random-weight models over
loopback.

It loads the page, sends a chat message and watches the streamed reply arrive piece by
piece and end equal to the API's non-streamed answer at temperature 0, regenerates it
after a reload (the conversation kept in local storage), checks the page at a phone's
width, stops a long generation midway, shows a server error in the server's words, sees
per-token logprobs in the completions view, unlocks a server started with --api-key,
generates an image with the tiny Stable Diffusion pipeline and sees it in the gallery, and
saves a screenshot of each view into OUT_DIR. Exits 77 (CTest: skipped), saying why, when
selenium, chromium or chromedriver is missing.

Usage: webui_browser_test.py GENRT TEST_DATA_DIR OUT_DIR
"""

import json
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from serve_process import GenrtServer, init_model  # noqa: E402

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("SKIPPED: the selenium package is not installed (pip install selenium; tools/test.sh installs it)")
    sys.exit(77)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if not CHROMIUM or not CHROMEDRIVER:
    missing = " and ".join(name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if not path)
    print(f"SKIPPED: {missing} not found (apt-get install chromium chromium-driver; tools/setup.sh installs them)")
    sys.exit(77)

WAIT_S = 60
CHAT_TOKENS = 48


def api(url, path, body):
    """The server's status and JSON answer to a POST, as any client gets them."""
    request = urllib.request.Request(url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def start_browser(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # The driver is named, so selenium's own manager never looks for one on the network.
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


class Page:
    def __init__(self, driver, out):
        self.driver = driver
        self.out = out

    def open(self, url):
        self.driver.get(url + "/")
        self.wait(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), "the page to start")

    def wait(self, condition, what, timeout=WAIT_S):
        return WebDriverWait(self.driver, timeout, poll_frequency=0.02).until(condition, f"waiting for {what}")

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, css, text):
        field = self.find(css)
        field.clear()
        field.send_keys(str(text))

    def sampling(self, **fields):
        for name, value in fields.items():
            self.fill(f"#sampling [name={name}]", value)

    def tab(self, name):
        self.find(f"#tab-{name}").click()
        self.wait(lambda d: self.find(f"#view-{name}").is_displayed(), f"the {name} view")

    def screenshot(self, name):
        path = self.out / f"{name}.png"
        self.driver.save_screenshot(str(path))
        print(f"screenshot: {path}")

    def assert_no_console_errors(self):
        """A resource the policy blocked, a script error or a failed load shows here."""
        errors = [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors

    def drop_console(self):
        """Forgets the console so far (the failed loads a check provoked on purpose)."""
        self.driver.get_log("browser")

    def record_texts(self, css):
        """From now on, keeps every text the element matching `css` shows (read back with seen_texts)."""
        self.driver.execute_script(
            """
            window.seenTexts = [];
            new MutationObserver(() => {
              const element = document.querySelector(arguments[0]);
              if (element && element.textContent !== window.seenTexts.at(-1)) window.seenTexts.push(element.textContent);
            }).observe(document.body, {subtree: true, childList: true, characterData: true});
            """, css)

    def seen_texts(self):
        return self.driver.execute_script("return window.seenTexts")


def check_chat(page, url):
    page.open(url)
    page.assert_no_console_errors()
    assert page.find("#status-model").text == "stories15m"
    question = "Tell me a story about a robot."
    status, want = api(url, "/v1/chat/completions", {"messages": [{"role": "user", "content": question}],
                                                     "temperature": 0, "max_tokens": CHAT_TOKENS})
    assert status == 200, want
    want_text = want["choices"][0]["message"]["content"]

    page.sampling(temperature=0, max_tokens=CHAT_TOKENS)
    page.record_texts("#chat-log li.assistant:last-child .content")
    page.fill("#chat-input", question)
    page.find("#chat-send").click()
    reply = page.wait(lambda d: page.find("#chat-log li.assistant:last-child[data-finish]"), "the streamed reply")
    assert reply.get_attribute("data-finish") == want["choices"][0]["finish_reason"], reply.get_attribute("data-finish")
    # Whitespace as the DOM holds it (Selenium's .text trims the ends).
    got = page.driver.execute_script("return arguments[0].textContent", reply.find_element(By.CSS_SELECTOR, ".content"))
    assert got == want_text, (got, want_text)
    seen = [t for t in page.seen_texts() if t]
    assert all(want_text.startswith(t) for t in seen), seen
    assert len(seen) >= 3, f"the reply did not stream in pieces: {seen}"
    print(f"chat: {len(want_text)} characters streamed in {len(seen)} visible steps")
    assert "tokens/s" in reply.find_element(By.CSS_SELECTOR, ".meta").text

    # The conversation survives a reload (local storage), and Regenerate replaces the
    # reply with the same one at temperature 0.
    page.open(url)
    assert len(page.find_all("#chat-log li.message")) == 2
    page.find("#chat-regenerate").click()
    reply = page.wait(lambda d: page.find("#chat-log li.assistant:last-child[data-finish]"), "the regenerated reply")
    assert len(page.find_all("#chat-log li.message")) == 2
    got = page.driver.execute_script("return arguments[0].textContent", reply.find_element(By.CSS_SELECTOR, ".content"))
    assert got == want_text, (got, want_text)
    page.screenshot("chat")


def check_stop(page, url):
    """A long reply stopped midway keeps what came, says it stopped, and the server
    cancels the sequence."""
    question, sampling = "Keep going for a long time.", {"temperature": 1, "seed": 5, "max_tokens": 200}
    page.sampling(**sampling)
    # The 200 tokens take about 1.5 s on an idle 2-core machine: a click that lands after the
    # last one finds the reply complete (finish "length"); then the question is asked again.
    for attempt in range(3):
        before = metric(url, "genrt_sequences_cancelled_total")
        page.find("#chat-clear").click()  # stories15m's context is 256 tokens
        page.record_texts("#chat-log li.assistant:last-child .content")
        page.fill("#chat-input", question)
        page.find("#chat-send").click()
        page.wait(lambda d: any(page.seen_texts()), "the reply to start")
        page.find("#chat-stop").click()
        reply = page.wait(lambda d: page.find("#chat-log li.assistant:last-child[data-finish]"), "the stopped reply")
        if reply.get_attribute("data-finish") == "stopped":
            break
        print(f"stop: attempt {attempt + 1} finished ({reply.get_attribute('data-finish')}) before the click landed")
    assert reply.get_attribute("data-finish") == "stopped"
    assert page.find("#chat-send").is_enabled() and not page.find("#chat-stop").is_displayed()
    page.wait(lambda d: metric(url, "genrt_sequences_cancelled_total") == before + 1, "the server to cancel")
    got = page.driver.execute_script("return arguments[0].textContent", reply.find_element(By.CSS_SELECTOR, ".content"))
    status, full = api(url, "/v1/chat/completions", {"messages": [{"role": "user", "content": question}], **sampling})
    assert status == 200, full
    full_text = full["choices"][0]["message"]["content"]
    assert got and full_text.startswith(got) and len(got) < len(full_text), (got, full_text)
    print(f"stop: stopped after {len(got)} of {len(full_text)} characters; the server cancelled the sequence")


def check_error(page, url):
    """A request the server refuses shows the server's own message."""
    page.find("#chat-clear").click()
    page.sampling(max_tokens=100000)
    page.fill("#chat-input", "hello")
    page.find("#chat-send").click()
    banner = page.wait(lambda d: page.find("#error-text") if page.find("#error").is_displayed() else None,
                       "the error banner")
    status, want = api(url, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hello"}],
                                                     "max_tokens": 100000})
    assert status == 400
    assert banner.text == want["error"]["message"], (banner.text, want)
    print(f"error: shown as the server words it: {banner.text}")
    page.find("#error-close").click()
    page.drop_console()
    page.find("#chat-clear").click()
    page.sampling(max_tokens=CHAT_TOKENS, temperature=0)


def check_completions(page, url):
    page.tab("completions")
    prompt = "Once upon a time"
    status, want = api(url, "/v1/completions", {"prompt": prompt, "max_tokens": 12, "temperature": 0, "logprobs": 5})
    assert status == 200, want
    page.sampling(max_tokens=12, temperature=0)
    page.fill("#completion-prompt", prompt)
    page.find("#completion-send").click()
    page.wait(lambda d: page.find("#completion-output").get_attribute("data-finish"), "the completion")
    tokens = page.find_all("#completion-output .token")
    logprobs = want["choices"][0]["logprobs"]
    assert len(tokens) == len(logprobs["tokens"]), (len(tokens), logprobs["tokens"])
    shown = page.driver.execute_script("return arguments[0].map((t) => t.textContent).join('')", tokens)
    assert shown == want["choices"][0]["text"], (shown, want["choices"][0]["text"])
    ActionChains(page.driver).move_to_element(tokens[0]).perform()
    info = page.wait(lambda d: page.find("#token-info") if page.find("#token-info").is_displayed() else None,
                     "the token's logprobs")
    assert info.find_element(By.TAG_NAME, "caption").text == f"logprob {logprobs['token_logprobs'][0]:.4f}", info.text
    assert len(info.find_elements(By.TAG_NAME, "tr")) == 5, info.text
    page.screenshot("completions")
    print(f"completions: {len(tokens)} tokens with logprobs")


def check_phone(page, url):
    """At 375 px the page fits the width (nothing to scroll sideways)."""
    page.driver.set_window_size(375, 812)
    page.open(url)
    page.tab("chat")
    width = page.driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide at 375"
    page.screenshot("chat-phone")
    page.driver.set_window_size(1280, 900)
    page.open(url)  # with the sampling panel open beside the view again


def check_api_key(page, url):
    page.driver.get(url + "/")
    dialog = page.wait(lambda d: page.find("#key-dialog") if page.find("#key-dialog").is_displayed() else None,
                       "the key dialog")
    assert "API key" in page.find("#key-reason").text
    page.fill("#key-input", "wrong")
    page.find("#key-form button[type=submit]").click()
    page.wait(lambda d: dialog.is_displayed(), "the dialog to ask again")
    page.fill("#key-input", "test-key")
    page.find("#key-form button[type=submit]").click()
    page.wait(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), "the page with the key")
    assert not dialog.is_displayed()
    page.fill("#chat-input", "hi")
    page.sampling(max_tokens=4)
    page.find("#chat-send").click()
    reply = page.wait(lambda d: page.find("#chat-log li.assistant:last-child[data-finish]"), "a reply with the key")
    assert reply.get_attribute("data-finish") in ("stop", "length")
    page.drop_console()
    print("api key: asked for, refused when wrong, used when right")


def check_images(page, url):
    page.open(url)
    assert page.find("#view-images").is_displayed() and not page.find("#tab-chat").is_displayed()
    page.record_texts("#image-elapsed")
    page.fill("#image-form [name=prompt]", "a red square")
    page.fill("#image-form [name=steps]", "60")
    page.fill("#image-form [name=seed]", "7")
    page.find("#image-send").click()
    item = page.wait(lambda d: page.find("#gallery li"), "the image in the gallery")
    image = item.find_element(By.TAG_NAME, "img")
    page.wait(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image),
              "the image to decode")
    assert "seed 7" in item.text and "60 steps" in item.text, item.text
    size = page.find("#image-form [name=width]").get_attribute("value")
    assert str(page.driver.execute_script("return arguments[0].naturalWidth", image)) == size
    progress = [t for t in page.seen_texts() if " of 60" in t]
    assert progress, f"no step shown while the job ran: {page.seen_texts()}"
    print(f"images: in the gallery after showing {progress[-1]}")
    page.assert_no_console_errors()
    page.screenshot("images")


def metric(url, name):
    with urllib.request.urlopen(url + "/metrics") as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def main():
    genrt, data, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        # stories15m's shape (random weights) generates about 100 tokens/s on two CPU cores:
        # slow enough to see a reply arrive in pieces and to stop it midway.
        model = Path(tmp) / "stories15m"
        init_model(genrt, model, "stories15m", seed=3)
        driver = start_browser(Path(tmp) / "profile")
        page = Page(driver, out)
        try:
            with GenrtServer(genrt, model) as server:
                check_chat(page, server.url)
                check_phone(page, server.url)
                check_stop(page, server.url)
                check_error(page, server.url)
                check_completions(page, server.url)
            with GenrtServer(genrt, model, "--api-key", "test-key") as server:
                check_api_key(page, server.url)
            with GenrtServer(genrt, data / "tiny_sd" / "sd1") as server:
                check_images(page, server.url)
        except Exception:
            page.screenshot("failure")
            print("browser console:", driver.get_log("browser"))
            raise
        finally:
            driver.quit()
    print(f"webui browser test: all checks passed in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
