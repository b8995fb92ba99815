#version 450
// gl_PointCoord as colour (the point-sprite test).
layout(location = 0) out vec4 o_color;
void main() {
    o_color = vec4(gl_PointCoord, 0.0, 1.0);
}
