#version 450
// Three render targets: the colour (RGBA8), half its swizzled colour (RGBA16F), and a pattern
// of the pixel's integer coordinates (R32_UINT).
layout(location = 0) in vec4 v_color;
layout(location = 0) out vec4 out0;
layout(location = 1) out vec4 out1;
layout(location = 2) out uint out2;
void main() {
    out0 = v_color;
    out1 = vec4(v_color.bgr * 0.5, 1.0);
    uvec2 p = uvec2(gl_FragCoord.xy);
    out2 = (p.x ^ (p.y * 3u)) + 1000u;
}
