from prefect import flow

class FlowClass:
    # 实例方法
    @flow
    def instance_methods_flow(self):
        print("实例方法流水线")
    
    # 类方法
    @flow
    @classmethod
    def class_methods_flow(cls):
        print("类方法流水线")

    # 静态方法
    @flow
    @staticmethod
    def static_methods_flow():
        print("静态方法流水线")

if __name__ == "__main__":  
    FlowClass().instance_methods_flow()
    FlowClass.class_methods_flow()
    FlowClass.static_methods_flow()
