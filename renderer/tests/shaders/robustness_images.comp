#version 450
// Out-of-range image and texel-buffer accesses (issue 5): every index of `idx` used as an x, a
// y, a level and a texel-buffer element; loads write `results`, stores and atomics target the
// same images. One invocation, so the CPU can replay the accesses in order.
layout(local_size_x = 1) in;
layout(set = 0, binding = 0, r32ui) uniform uimage2D img;
layout(set = 0, binding = 1) uniform usampler2D tex;
layout(set = 0, binding = 2, r32ui) uniform uimageBuffer storage_texels;
layout(set = 0, binding = 3) uniform usamplerBuffer uniform_texels;
layout(set = 0, binding = 4) buffer Idx { int idx[]; };
layout(set = 0, binding = 5) buffer Out { uint results[]; };
layout(push_constant) uniform Push { uint count; } pc;

void main() {
    for (uint k = 0; k < pc.count; k++) {
        int i = idx[k];
        results[k * 6 + 0] = imageLoad(img, ivec2(i, 0)).x;
        results[k * 6 + 1] = imageLoad(img, ivec2(0, i)).x;
        results[k * 6 + 2] = texelFetch(tex, ivec2(i, 1), 0).x;
        results[k * 6 + 3] = texelFetch(tex, ivec2(1, 1), i).x;
        results[k * 6 + 4] = texelFetch(uniform_texels, i).x;
        results[k * 6 + 5] = imageLoad(storage_texels, i).x;
        imageStore(img, ivec2(i, 1), uvec4(0xA0000000u | k));
        imageStore(storage_texels, i, uvec4(0xB0000000u | k));
        imageAtomicAdd(img, ivec2(2, i), 0x100u);
    }
}
