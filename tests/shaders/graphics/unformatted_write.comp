#version 450
// Writes three 32×32 storage images declared without a format
// (shaderStorageImageWriteWithoutFormat): each store converts to the bound view's format,
// RGBA8_UNORM (binding 0), RGBA16_SFLOAT (binding 1) and R32_UINT (binding 2).
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0) uniform writeonly image2D unorm_img;
layout(set = 0, binding = 1) uniform writeonly image2D half_img;
layout(set = 0, binding = 2) uniform writeonly uimage2D uint_img;
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    vec2 f = vec2(p) / 31.0;
    imageStore(unorm_img, p, vec4(f.x, f.y, 0.5, 1.0));
    // Alpha above 1 survives a float format (the reader scales it back).
    imageStore(half_img, p, vec4(f.y * 0.75, 1.0 - f.x, float(p.x % 8) * 0.125, 2.0 + f.x));
    uint packed = uint(p.x) * 8u | (uint(p.y) * 8u) << 8 | 0xa0u << 16 | 0xffu << 24;
    imageStore(uint_img, p, uvec4(packed, 7u, 7u, 7u));
}
