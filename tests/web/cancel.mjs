// The page's stop buttons in Debian's headless Chromium, on tasks still
// transcribing: "Stop & compile found" asks for the seed's early
// termination, "Cancel" cancels outright; each task then ends.
// Usage: node cancel.mjs URL MEDIA_PATH WORD
// Prints one JSON line with what it saw; exits 1 with the reason on failure.
import { chromium } from 'playwright-core';

const [url, media, word] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const problems = [];

async function start(page) {
  await page.fill('#urls', media);
  await page.fill('#words', word);
  await page.click('#submit');
  const msg = page.locator('#create-msg', { hasText: 'started task' });
  await msg.waitFor({ timeout: 20000 });
  const id = (await msg.innerText()).split(' ').pop();
  const row = page.locator(`.task[data-task^="${id}"]`);
  await row.waitFor({ timeout: 20000 });
  return row;
}

async function waitFor(row, done, what, timeout = 300000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const text = await row.innerText();
    if (done(text)) return text;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what + '; the row says: ' + text);
    await row.page().waitForTimeout(200);
  }
}

const terminal = (t) => /\b(completed|error|cancelled)\b/.test(t);
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  await page.goto(url);
  const result = {};

  // Stop a fifth of the way through the transcription.
  let row = await start(page);
  const transcribed = (t) => { const m = /([\d.]+)% transcribed/.exec(t); return m ? Number(m[1]) : 0; };
  await waitFor(row, (t) => /processing/.test(t) && transcribed(t) >= 20, 'a fifth transcribed');
  result.stopped_at_percent = transcribed(await row.innerText());
  const stopAnswer = page.waitForResponse((r) => r.url().includes('/cancel/') && r.request().method() === 'POST');
  await row.locator('button.stop').click();
  const stopResponse = await stopAnswer;
  result.stop_request = stopResponse.request().postDataJSON();
  result.stop_answer = await stopResponse.json();
  result.stopped_text = await waitFor(row, terminal, 'the stopped task to finish');
  result.stopped_task = await row.getAttribute('data-task');
  // A completed task gets its player once the page has fetched the file.
  if (result.stopped_text.includes('completed')) {
    await row.locator('video').first().waitFor({ state: 'attached', timeout: 30000 }).catch(() => {});
  }
  result.stopped_player = await row.locator('video').count();

  // Cancel outright while processing.
  row = await start(page);
  await waitFor(row, (t) => /processing/.test(t), 'the second task to start');
  const cancelAnswer = page.waitForResponse((r) => r.url().includes('/cancel/') && r.request().method() === 'POST');
  await row.locator('button.cancel').click();
  const cancelResponse = await cancelAnswer;
  result.cancel_request = cancelResponse.request().postData();
  result.cancel_answer = await cancelResponse.json();
  result.cancelled_text = await waitFor(row, terminal, 'the cancelled task to end');
  result.cancelled_task = await row.getAttribute('data-task');
  result.cancelled_buttons_hidden = await row.locator('button.cancel').isHidden();
  result.problems = problems;
  console.log(JSON.stringify(result));
} catch (e) {
  console.error('cancel test: ' + e.message + (problems.length ? '\n' + problems.join('\n') : ''));
  process.exitCode = 1;
} finally {
  await browser.close();
}
