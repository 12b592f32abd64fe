// Drives the studioflow page in Debian's headless Chromium (playwright-core,
// never a downloaded browser): starts a compilation from the form, waits for
// it to complete, checks the player, takes a screenshot.
// Usage: node page.mjs URL MEDIA_PATH WORD SCREENSHOT.png [TOKEN]
// Prints one JSON line with what it saw; exits 1 with the reason on failure.
import { chromium } from 'playwright-core';

const [url, media, word, shot, token] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  await page.goto(url);
  const result = { title: await page.title() };
  if (token) {
    // The page asks for the token, keeps it for the tab, then works.
    await page.locator('#auth').waitFor({ state: 'visible', timeout: 20000 });
    result.asked_for_token = true;
    await page.fill('#token', token);
    await page.click('#auth-form button');
    await page.locator('#auth').waitFor({ state: 'hidden' });
    result.token_stored = await page.evaluate(() => sessionStorage.getItem('studioflow-token'));
  }
  await page.locator('#system-body table, #system-body p').first().waitFor({ timeout: 20000 });
  result.system = await page.locator('#system-body').innerText();

  await page.fill('#urls', media);
  await page.fill('#words', word);
  await page.fill('#padding_before', '0.5');
  await page.fill('#padding_after', '0.5');
  await page.fill('#min_confidence', '0.6');
  const created = page.waitForRequest((r) => r.url().endsWith('/create_compilation'));
  await page.click('#submit');
  result.create_request = (await created).postDataJSON();
  await page.locator('#create-msg', { hasText: 'started task' }).waitFor({ timeout: 20000 });
  const row = page.locator('.task').first();
  result.seen_states = [];
  const deadline = Date.now() + 300000;
  for (;;) {
    const badge = (await row.locator('.badge').innerText().catch(() => '')).trim();
    if (badge && !result.seen_states.includes(badge)) result.seen_states.push(badge);
    if (badge === 'completed' || badge === 'error' || badge === 'cancelled') break;
    if (Date.now() > deadline) throw new Error('the task did not finish in 300 s; last state: ' + badge);
    await page.waitForTimeout(200);
  }
  result.task_text = await row.innerText();
  result.bar_width = await row.locator('.bar > div').evaluate((e) => e.style.width);
  result.cancel_hidden = await row.locator('button.cancel').isHidden();
  const video = row.locator('video');
  await video.waitFor({ timeout: 20000 });
  await page.waitForFunction(() => {
    const v = document.querySelector('.task video');
    return v && (v.readyState >= 1 || v.error);
  }, null, { timeout: 30000 });
  result.video = await video.evaluate((v) => ({
    src: v.currentSrc || v.src, readyState: v.readyState, duration: v.duration,
    error: v.error ? v.error.code : null, width: v.videoWidth, height: v.videoHeight,
  }));
  // A picture from inside the compilation, not its first (pause) frame.
  result.frame_shown = await video.evaluate((v) => new Promise((resolve) => {
    if (v.error || !(v.duration > 0)) return resolve(false);
    const timer = setTimeout(() => resolve(false), 10000);
    v.addEventListener('seeked', () => { clearTimeout(timer); resolve(v.readyState >= 2); }, { once: true });
    v.currentTime = Math.min(1.0, v.duration / 2);
  }));
  await page.screenshot({ path: shot, fullPage: true });
  result.problems = problems;
  console.log(JSON.stringify(result));
} catch (e) {
  console.error('page test: ' + e.message + (problems.length ? '\n' + problems.join('\n') : ''));
  process.exitCode = 1;
} finally {
  await browser.close();
}
