#version 450
// C = A * B for n x n row-major matrices, 16 x 16 tiles staged through shared memory.
#define TILE 16
layout(local_size_x = TILE, local_size_y = TILE) in;
layout(push_constant) uniform Params { uint n; } pc;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer C { float c[]; };
shared float tileA[TILE][TILE];
shared float tileB[TILE][TILE];
void main() {
    uint tx = gl_LocalInvocationID.x;
    uint ty = gl_LocalInvocationID.y;
    uint col = gl_WorkGroupID.x * TILE + tx;
    uint row = gl_WorkGroupID.y * TILE + ty;
    uint n = pc.n;
    float acc = 0.0;
    uint tiles = (n + TILE - 1) / TILE;
    for (uint t = 0; t < tiles; t++) {
        uint ka = t * TILE + tx;
        uint kb = t * TILE + ty;
        tileA[ty][tx] = (row < n && ka < n) ? a[row * n + ka] : 0.0;
        tileB[ty][tx] = (kb < n && col < n) ? b[kb * n + col] : 0.0;
        barrier();
        for (uint k = 0; k < TILE; k++) {
            acc += tileA[ty][k] * tileB[k][tx];
        }
        barrier();
    }
    if (row < n && col < n) {
        c[row * n + col] = acc;
    }
}
