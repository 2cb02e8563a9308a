# The two set-up commands are `make demo` and `make test` (see README.md).
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?= -q --durations=20 -n 2 --dist loadgroup --no-loadscope-reorder

.PHONY: demo demo-stop test check bench bench-quick clean

# The fast tests that need no root (core, wire, config, simulation): a developer's loop, < 1 min.
CHECK_TESTS := tests/core tests/sim tests/locks tests/partition tests/discovery tests/agent

# A venv with the agent and ansible-core: all the demo needs (no root).
$(VENV)/.demo-deps: agent/pyproject.toml tests/ansible/requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -m pip install -q -e agent -r tests/ansible/requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
	touch $@

demo: $(VENV)/.demo-deps
	$(VENV)/bin/ansible-playbook -i inventory/local playbooks/site.yml
	@echo
	$(VENV)/bin/ekka-ctl -c .demo/ekka1/etc/ekka.conf cluster status

# Each demo node has the control script the agent role installs when there is no systemd.
demo-stop:
	@for s in .demo/*/agent/ekka-agent-service; do [ -x "$$s" ] && "$$s" stop || true; done

# Installs the real components (apt) and the Python side, then runs the whole suite.
test:
	scripts/install-test-deps.sh
	$(VENV)/bin/pytest tests $(PYTEST_ARGS)

# Not a set-up command: it expects the venv (`make test` or scripts/install-test-deps.sh made it).
check:
	$(VENV)/bin/pytest $(CHECK_TESTS) -m "not root and not slow" -q -p no:cacheprovider

bench:
	scripts/install-test-deps.sh
	$(PY) bench/run.py

bench-quick:
	scripts/install-test-deps.sh
	$(PY) bench/run.py --quick

clean:
	rm -rf .demo build dist
