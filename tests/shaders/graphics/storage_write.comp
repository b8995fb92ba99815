#version 450
// Writes a 64×64 RGBA8 storage image (issue 7): red and green ramps, blue a checkerboard of
// 8-pixel cells.
layout(local_size_x = 8, local_size_y = 8) in;
layout(set = 0, binding = 0, rgba8) uniform writeonly image2D img;
void main() {
    ivec2 p = ivec2(gl_GlobalInvocationID.xy);
    float b = ((p.x ^ p.y) & 8) != 0 ? 1.0 : 0.2;
    imageStore(img, p, vec4(float(p.x) / 63.0, float(p.y) / 63.0, b, 1.0));
}
