#version 450
// Discards the left half of the target and writes a flat integer-derived colour.
layout(location = 0) in vec3 v_color;
layout(location = 0) out vec4 o_color;
void main() {
    if (gl_FragCoord.x < 32.0) {
        discard;
    }
    o_color = vec4(v_color.r, gl_FrontFacing ? 1.0 : 0.0, 0.0, 1.0);
}
