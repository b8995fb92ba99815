#version 450
#extension GL_EXT_multiview : require
// A quad over the half of the screen the view selects: view 0 the left half, view 2 the
// right half (x from -1 + 0.5 * ViewIndex, one unit wide).
void main() {
    const vec2 corners[6] = vec2[](vec2(0, 0), vec2(1, 0), vec2(0, 1),
                                   vec2(1, 0), vec2(1, 1), vec2(0, 1));
    vec2 c = corners[gl_VertexIndex % 6];
    float x0 = -1.0 + 0.5 * float(gl_ViewIndex);
    gl_Position = vec4(x0 + c.x, -1.0 + 2.0 * c.y, 0.5, 1.0);
}
