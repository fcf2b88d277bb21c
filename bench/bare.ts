// The floor for "hello guest, whole process": a compiled Bun program that only prints a line.
console.log("Hello, world!");
