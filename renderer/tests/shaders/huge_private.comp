#version 450
// A function-local array of WORDS words, indexed dynamically so it must live in private
// memory. Above the private-memory cap the pipeline must fail cleanly.
layout(local_size_x = 1) in;
layout(std430, set = 0, binding = 0) buffer Io { uint v[]; };
void main() {
    uint big[WORDS];
    big[v[0] % WORDS] = v[1];
    v[2] = big[v[3] % WORDS];
}
