#version 450
// Derivatives of known functions of the pixel position (issue 7): fine x-derivative of
// x²/1024, fine y-derivative of x·y/1024 and coarse x-derivative of x·y/1024, each ×4.
layout(location = 0) in vec4 v_color;
layout(location = 0) out vec4 frag_color;
void main() {
    vec2 p = gl_FragCoord.xy;
    float f = p.x * p.x / 1024.0;
    float g = p.x * p.y / 1024.0;
    frag_color = vec4(dFdxFine(f) * 4.0, dFdyFine(g) * 4.0, dFdxCoarse(g) * 4.0, 1.0);
}
