"""End-to-end tests of the environment variables: every one that
`--help-env` lists is validated at startup, `gpu --plan` prints the
measurements and the plan, and the logging / profiling switches do what
they say on a real supercut."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from e2e_lib import BINARY, talk

EXIT_USAGE = 2


def run_env(args, **env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run([BINARY] + args, capture_output=True, text=True, env=e)


def listed_variables():
    p = run_env(["--help-env"])
    assert p.returncode == 0, p.stderr
    return re.findall(r"^  ([A-Z][A-Z0-9_]+) ", p.stdout, re.M)


class HelpEnv(unittest.TestCase):
    def test_every_listed_variable_is_validated(self):
        names = listed_variables()
        self.assertIn("FORCE_SINGLE_GPU", names)
        self.assertNotIn("ENABLE_CUDA_STREAMS", names)
        self.assertGreaterEqual(len(names), 15)
        for name in names:
            # A value no kind accepts: a space and ';' are in no number,
            # flag or model name; "/" is a folder, not a file path.
            refused = []
            for bad in ["bad value;", "/"]:
                p = run_env(["gpu", "--json"], **{name: bad})
                # Secrets are refused without echoing the value.
                said = ("%s='%s' is not valid" % (name, bad)) in p.stderr or ("%s is not valid" % name) in p.stderr
                if p.returncode == EXIT_USAGE and said:
                    self.assertFalse(name.endswith("_TOKEN") and bad in p.stderr, "a secret was printed")
                    refused.append(bad)
            self.assertTrue(refused, "%s accepts every bad value tried" % name)

    def test_bad_value_stops_before_the_command(self):
        p = run_env(["gpu"], FORCE_SINGLE_GPU="maybe")
        self.assertEqual(p.returncode, EXIT_USAGE)
        self.assertEqual(p.stdout, "")
        self.assertIn("FORCE_SINGLE_GPU='maybe' is not valid: expected 1/true/yes/on or 0/false/no/off", p.stderr)
        p = run_env(["gpu", "--plan"], MAX_MODELS_PER_GPU="0")
        self.assertEqual(p.returncode, EXIT_USAGE)
        self.assertIn("MAX_MODELS_PER_GPU='0' is not valid: expected a whole number in 1..64", p.stderr)

    def test_help_env_shows_a_bad_value_as_invalid(self):
        p = run_env(["--help-env"], MAX_CLIP_DOWNLOADS="500")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("MAX_CLIP_DOWNLOADS              500  [set, invalid]", p.stdout)


class GpuPlan(unittest.TestCase):
    def plan(self, *args, **env):
        p = run_env(["gpu", "--plan", "--json"] + list(args), **env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return json.loads(p.stdout), p.stderr

    def test_json_fields(self):
        j, _ = self.plan()
        self.assertEqual(j["engine"], "sphinx")
        m = j["measurements"]
        for key in ["cpu_cores", "memory_available_bytes", "gpu_reason", "baseline_measured", "baseline_seconds",
                    "gpus"]:
            self.assertIn(key, m)
        self.assertGreaterEqual(m["cpu_cores"], 1)
        self.assertGreater(m["memory_available_bytes"], 0)
        self.assertGreater(j["cpu_instance_bytes"], 0)
        plan = j["plan"]
        self.assertFalse(plan["uses_gpu"])  # sphinx runs on the CPU only
        self.assertEqual(plan["total_instances"], sum(w["instances"] for w in plan["workers"]))
        self.assertGreaterEqual(plan["total_instances"], m["cpu_cores"])
        for w in plan["workers"]:
            self.assertEqual(w["device"], "cpu")
            self.assertIsNone(w["gpu"])
            self.assertGreaterEqual(w["instances"], 1)
            self.assertGreaterEqual(w["threads"], 1)
        self.assertTrue(plan["decisions"])
        if m["gpus"]:
            self.assertEqual(plan["decisions"][0], "the sphinx engine runs on the CPU only")
        else:
            self.assertEqual(plan["decisions"][0], "no GPU: " + m["gpu_reason"])

    def test_worker_processes_from_the_environment(self):
        j, _ = self.plan(GPU_WORKER_PROCESSES="3")
        self.assertEqual(len(j["plan"]["workers"]), 3)
        self.assertIn("GPU_WORKER_PROCESSES=3: 3 CPU worker process(es)", j["plan"]["decisions"])

    def test_debug_gpu_allocation_logs_every_decision(self):
        j, err = self.plan(DEBUG_GPU_ALLOCATION="1")
        for d in j["plan"]["decisions"]:
            self.assertIn("plan: " + d, err)
        _, quiet = self.plan()
        self.assertNotIn("plan: ", quiet)

    def test_profiling_without_a_gpu_plans_from_the_cpu(self):
        j, _ = self.plan(ENABLE_GPU_PROFILING="1", BASELINE_MEASUREMENT_DURATION="0.3")
        if not j["measurements"]["gpus"]:
            self.assertFalse(j["measurements"]["baseline_measured"])
        else:
            self.assertTrue(j["measurements"]["baseline_measured"])
            self.assertGreaterEqual(j["measurements"]["gpus"][0]["samples"], 2)

    def test_text(self):
        p = run_env(["gpu", "--plan"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("measurements:", p.stdout)
        self.assertIn("CPU cores", p.stdout)
        self.assertRegex(p.stdout, r"plan: \d+ instance\(s\) in \d+ worker process\(es\)")
        self.assertIn("decisions:", p.stdout)

    def test_bad_flags(self):
        p = run_env(["gpu", "--plan", "--engine", "kaldi"])
        self.assertEqual(p.returncode, EXIT_USAGE)
        self.assertIn("--engine 'kaldi'", p.stderr)
        p = run_env(["gpu", "--plan", "--instance-gpu-utilization", "150"])
        self.assertEqual(p.returncode, EXIT_USAGE)


class Profiling(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sf-e2e-env-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_pipeline_logging_and_profiling_data(self):
        out = os.path.join(self.dir, "cut.mp4")
        p = run_env(["supercut", "-i", talk("a"), "-w", "budget", "-o", out], ENABLE_PIPELINE_LOGGING="1",
                    SAVE_PROFILING_DATA="1")
        self.assertEqual(p.returncode, 0, p.stderr)
        for stage in ["resolve", "probe", "transcribe", "match", "render"]:
            self.assertRegex(p.stderr, r"pipeline: stage %s done in \d+\.\d{3} s" % stage)
        with open(out + ".profile.json") as f:
            prof = json.load(f)
        self.assertEqual([s["stage"] for s in prof["stages"]], ["resolve", "probe", "transcribe", "match", "render",
                                                                  "render_tail"])
        self.assertTrue(all(s["seconds"] >= 0 for s in prof["stages"]))
        self.assertGreaterEqual(prof["plan"]["total_instances"], 1)
        self.assertIsInstance(prof["gpu_samples"], list)
        self.assertEqual(sorted(os.listdir(self.dir)), ["cut.mp4", "cut.mp4.profile.json"])

    def test_off_by_default(self):
        out = os.path.join(self.dir, "cut.mp4")
        p = run_env(["supercut", "-i", talk("a"), "-w", "budget", "-o", out])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("pipeline: stage", p.stderr)
        self.assertEqual(os.listdir(self.dir), ["cut.mp4"])


if __name__ == "__main__":
    unittest.main()
