#version 450
// Shared and private memory left by one pipeline must not be visible to another.
// WRITER=1: fills both with SECRET (and reports that it did). WRITER=0: reads both without
// writing them first and ORs everything it sees into its output.
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) buffer Io { uint v[]; };
shared uint s[2048];
void main() {
    uint i = gl_LocalInvocationIndex;
    uint p[256];
    uint acc = 0u;
#if WRITER
    for (uint k = i; k < 2048u; k += 64u) { s[k] = SECRET; }
    for (uint k = 0u; k < 256u; k++) { p[k] = SECRET; }
    barrier();
    for (uint k = i; k < 2048u; k += 64u) { acc |= s[(k * 7u) % 2048u]; }
    for (uint k = 0u; k < 256u; k++) { acc |= p[(k * 3u) % 256u]; }
#else
    barrier();
    for (uint k = i; k < 2048u; k += 64u) { acc |= s[k]; }
    for (uint k = 0u; k < 256u; k++) { acc |= p[k]; }
#endif
    v[gl_WorkGroupID.x * 64u + i] = acc;
}
