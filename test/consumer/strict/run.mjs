// Runs the README's TypeScript example as one TypeScript version compiled it (its out folder is the
// argument) with plain node, and prints what `trainXor(0)` returns as JSON.
const { trainXor } = await import(`./${process.argv[2]}/xor.js`)
console.log(JSON.stringify(trainXor(0)))
