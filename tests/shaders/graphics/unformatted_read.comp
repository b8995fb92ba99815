#version 450
// Reads the three images of `unformatted_write.comp` through declarations without a format
// (shaderStorageImageReadWithoutFormat) and writes a 64×64 picture of them, again without a
// format, to binding 3 (RGBA8_UNORM): quadrant (0, 0) the RGBA8 image, (1, 0) the RGBA16F
// one (alpha / 4), (0, 1) the R32_UINT one unpacked as four bytes, (1, 1) the components the
// one-channel formats do not have (G, B = 0, A = 1).
#extension GL_EXT_shader_image_load_formatted : require
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0) uniform readonly image2D unorm_img;
layout(set = 0, binding = 1) uniform readonly image2D half_img;
layout(set = 0, binding = 2) uniform readonly uimage2D uint_img;
layout(set = 0, binding = 3) uniform writeonly image2D result;
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    ivec2 q = p % 32;
    int quadrant = p.x / 32 + 2 * (p.y / 32);
    vec4 c;
    if (quadrant == 0) {
        c = imageLoad(unorm_img, q);
    } else if (quadrant == 1) {
        vec4 h = imageLoad(half_img, q);
        c = vec4(h.rgb, h.a * 0.25);
    } else if (quadrant == 2) {
        c = unpackUnorm4x8(imageLoad(uint_img, q).r);
    } else {
        uvec4 u = imageLoad(uint_img, q);
        c = vec4(vec3(u.gba) * 0.5, imageLoad(unorm_img, q).r);
    }
    imageStore(result, p, c);
}
