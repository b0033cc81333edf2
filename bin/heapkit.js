#!/usr/bin/env node
import "../dist/cli/heapkit.js";
