#version 450
// A workgroup array of WORDS words. Above maxComputeSharedMemorySize the pipeline must fail
// cleanly.
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer Io { uint v[]; };
shared uint s[WORDS];
void main() {
    uint i = gl_LocalInvocationIndex;
    s[(v[0] + i) % WORDS] = v[1] + i;
    barrier();
    v[4 + i] = s[(v[3] + i) % WORDS];
}
