#version 450
// Texel buffers in the fragment stage (issue 7): an 8×8 grid of cells, each the colour of one
// entry of a uniform texel buffer (R8G8B8A8_UNORM) times a scale read from a storage texel
// buffer (R32_SFLOAT, 4 entries).
layout(location = 0) in vec4 v_color;
layout(location = 0) out vec4 frag_color;
layout(set = 0, binding = 0) uniform samplerBuffer colors;
layout(set = 0, binding = 1, r32f) uniform readonly imageBuffer scales;
void main() {
    ivec2 cell = ivec2(gl_FragCoord.xy) / 8;
    int i = cell.y * 8 + cell.x;
    frag_color = texelFetch(colors, i) * imageLoad(scales, i % 4).x;
}
