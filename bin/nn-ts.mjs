#!/usr/bin/env node
// The nn-ts command: loads tsx's ESM hooks, then runs the TypeScript CLI in this same process.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
