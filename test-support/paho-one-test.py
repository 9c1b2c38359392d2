"""Runs ONE test of Eclipse Paho's MQTT interoperability suite (vendored in third_party/paho-interop/) against
one broker, or lists the suite's tests. Part of mqlive's test support (test-support/paho-interop.ts runs it).

  python3 paho-one-test.py SUITE --list                 the suite's test names, one a line
  python3 paho-one-test.py SUITE HOST PORT TEST_NAME    exit 0 when the test passed, 1 when it failed

SUITE is v311 (client_test.py, MQTT 3.1.1) or v5 (client_test5.py, MQTT 5.0).

The suite's own `__main__` runs every test in one process, and several MQTT 5 tests wait without limit; here
each test runs alone, so a caller can give each its own time limit. What the `__main__` sections set before
unittest starts (host, port and the topic lists) is set here the same way, on the imported module.
"""

import logging
import os
import sys
import types
import unittest

SUITE_MODULES = {"v311": "client_test", "v5": "client_test5"}
SUITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "third_party", "paho-interop", "interoperability")


def load_suite(suite):
    sys.path.insert(0, SUITE_DIR)
    # mqtt/__init__.py imports its brokers package, which is not vendored (the suite's clients never use it):
    # an empty module stands in for it, so the vendored files stay as published.
    sys.modules["mqtt.brokers"] = types.ModuleType("mqtt.brokers")
    return __import__(SUITE_MODULES[suite])


def main(argv):
    if len(argv) == 2 and argv[0] in SUITE_MODULES and argv[1] == "--list":
        module = load_suite(argv[0])
        for name in unittest.TestLoader().getTestCaseNames(module.Test):
            print(name)
        return 0
    if len(argv) != 4 or argv[0] not in SUITE_MODULES:
        print(__doc__, file=sys.stderr)
        return 2
    suite, host, port, name = argv
    module = load_suite(suite)
    # As the suite's __main__ sets them (client_test5's setData sets the topic lists again in setUpClass).
    module.host = host
    module.port = int(port)
    module.topics = ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")
    module.wildtopics = ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")
    module.nosubscribe_topics = ("test/nosubscribe",)
    module.topic_prefix = "client_test5/"  # only client_test5 uses it (test_shared_subscriptions)
    logging.getLogger().setLevel(logging.ERROR)
    if name not in unittest.TestLoader().getTestCaseNames(module.Test):
        print(f"no test {name} in the {suite} suite", file=sys.stderr)
        return 2
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(unittest.TestSuite([module.Test(name)]))
    return 0 if result.wasSuccessful() and result.testsRun == 1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
